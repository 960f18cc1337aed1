// The reference server's control page: its control API in a browser, with no build step.
// Everything it shows and does is a call of the control API (openapi/control/openapi.yaml),
// made by `control()` below; it works the same under a named world (/w/NAME/control/).

const BASE = location.pathname.replace(/control\/[^/]*$/, "control/");
const WORLD = (BASE.match(/^\/w\/([^/]+)\//) || [])[1] || null;
const REFRESH_MS = 1000;

// The one place where the page says who it is to the control API. Every call that changes
// something sends a JSON body (`{}` when it has no parameters), which a cross-site form cannot;
// a server started with --control-token also wants that token in `ESDC-Control`: the page
// takes it from its URL (?token=...) or from the field at its top, and keeps it for the tab.
const TOKEN_KEY = "esdc-control-token";
function controlToken() {
  return $("#control-token")?.value.trim() || "";
}
function controlHeaders(method) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const token = controlToken();
  if (token) headers["ESDC-Control"] = token;
  return headers;
}
function withToken(href) {
  const token = controlToken();
  if (!token) return href;
  const url = new URL(href, location.href);
  url.searchParams.set("token", token);
  return url.pathname + url.search;
}

async function control(method, path, body) {
  const init = { method, headers: controlHeaders(method), cache: "no-store" };
  if (method !== "GET") init.body = JSON.stringify(body ?? {});
  const answer = await fetch(BASE + path, init);
  const text = await answer.text();
  const json = text ? JSON.parse(text) : null;
  if (!answer.ok) {
    const detail = json && json.detail ? json.detail : `${answer.status} ${answer.statusText}`;
    throw new Error(`${method} ${BASE}${path}: ${detail}`);
  }
  return json;
}

// -- small DOM helpers ---------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind}` }, text);
}

function showError(error) {
  const banner = $("#banner");
  banner.textContent = String(error.message || error);
  banner.hidden = false;
}

function clearError() {
  $("#banner").hidden = true;
}

// Every action: call, then show the world as it is now.
function act(call) {
  return async (event) => {
    if (event) event.preventDefault();
    try {
      await call();
      clearError();
    } catch (error) {
      showError(error);
    }
    await refresh();
  };
}

// -- time ----------------------------------------------------------------------------------

let clock = null; // the last answer of GET clock/, and when it came
let clockFetched = 0;

function clockNow() {
  if (!clock) return null;
  const elapsed = (performance.now() - clockFetched) / 1000;
  return new Date(Date.parse(clock.now) + elapsed * clock.scale * 1000);
}

function utc(date) {
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function duration(seconds) {
  const size = Math.round(Math.abs(seconds));
  if (size < 90) return `${size} s`;
  if (size < 5400) return `${Math.round(size / 60)} min`;
  if (size < 129600) return `${Math.round(size / 3600)} h`;
  return `${Math.round(size / 86400)} days`;
}

function relative(moment) {
  const now = clockNow();
  if (!now || !moment) return "";
  const seconds = (Date.parse(moment) - now.getTime()) / 1000;
  return seconds >= 0 ? `in ${duration(seconds)}` : `${duration(seconds)} ago`;
}

function renderClock() {
  const now = clockNow();
  $("#clock-now").textContent = now ? utc(now) : "…";
  if (!clock) return;
  const mode = $("#clock-mode");
  if (clock.frozen) {
    mode.textContent = "frozen";
    mode.className = "badge mode-frozen";
  } else if (clock.real_time) {
    mode.textContent = "real time";
    mode.className = "badge mode-real";
  } else {
    mode.textContent = `×${clock.scale}`;
    mode.className = "badge mode-fast";
  }
  const offset = clock.offset;
  $("#clock-offset").textContent =
    Math.abs(offset) < 1
      ? "with the wall clock"
      : `${duration(offset)} ${offset > 0 ? "ahead of" : "behind"} the wall clock`;
}

// -- tasks ---------------------------------------------------------------------------------

let selected = null;

function fate(task) {
  if (task.outcome === null) return "runs until cancelled";
  const ended = clockNow() && Date.parse(task.ends_at) <= clockNow().getTime();
  return `${task.outcome} ${ended ? "" : relative(task.ends_at)}`.trim();
}

function taskRow(task) {
  const ended = ["SUCCESS", "FAILURE", "REVOKED"].includes(task.state);
  const id = task.task_id;
  const button = (label, call, title) =>
    el("button", { type: "button", disabled: ended, title, dataset: { action: label }, onclick: act(call) }, label);
  const row = el(
    "tr",
    { dataset: { task: id }, class: id === selected ? "selected" : "" },
    el("td", {}, el("code", { class: "task-id", onclick: () => showTask(id) }, id)),
    el("td", { class: "what" }, `${task.msg} `, el("span", { class: "muted" }, task.object.alias || task.object.name)),
    el("td", {}, badge(task.state, `state state-${task.state}`)),
    el("td", { class: "fate" }, fate(task)),
    el("td", {}, task.cancel === "ignored" ? "ignored" : "revokes"),
    el(
      "td",
      {},
      button("succeed", () => control("POST", `tasks/${id}/finish/`, { outcome: "SUCCESS" }), "end it now, SUCCESS"),
      button("fail", () => control("POST", `tasks/${id}/finish/`, { outcome: "FAILURE", result: { detail: "Failed on purpose (control page)" } }), "end it now, FAILURE"),
      button("hang", () => control("POST", `tasks/${id}/hang/`), "run until cancelled"),
      button(
        task.cancel === "ignored" ? "cancel revokes" : "cancel fails",
        () => control("POST", `tasks/${id}/ignore-cancel/`, { ignore: task.cancel !== "ignored" }),
        "what a cancel of it does",
      ),
    ),
  );
  return row;
}

function renderTasks(tasks) {
  $("#task-rows").replaceChildren(...tasks.map(taskRow));
}

async function showTask(id) {
  selected = id;
  try {
    const task = await control("GET", `tasks/${id}/`);
    $("#detail-id").textContent = id;
    $("#detail-history").replaceChildren(
      ...task.history.map((change) =>
        el("li", {}, badge(change.state, `state state-${change.state}`), " ", el("time", {}, utc(new Date(change.at))),
          change.task ? el("span", { class: "muted" }, ` (callback ${change.task})`) : null),
      ),
    );
    $("#detail-planned").textContent = task.planned.length
      ? `planned: ${task.planned.map((p) => `${p.state} ${relative(p.at)}`).join(", ")}`
      : "nothing planned";
    $("#task-detail").hidden = false;
  } catch (error) {
    showError(error);
  }
}

// -- faults --------------------------------------------------------------------------------

function howOften(rule) {
  const parts = [];
  if (rule.probability < 1) parts.push(`p ${rule.probability}`);
  if (rule.times !== null) parts.push(`${rule.times} more`);
  return parts.join(", ") || "always";
}

function ruleDetail(rule) {
  if (rule.fault === "delay") return `delay ${rule.delay_ms}${rule.delay_max_ms ? `–${rule.delay_max_ms}` : ""} ms (${rule.clock} clock)`;
  if (rule.fault === "drop") return `drop (${rule.stage})`;
  if (rule.fault === "result_backend") return `result backend ${rule.backend}`;
  if (rule.fault === "throttle") return `throttle (Retry-After ${rule.retry_after})`;
  return rule.fault.replace("_", " ");
}

function renderFaults(faults) {
  $("#held").textContent = faults.held ? `${faults.held} request(s) held now` : "";
  $("#fault-rows").replaceChildren(
    ...faults.rules.map((rule) =>
      el(
        "tr",
        { dataset: { rule: rule.id } },
        el("td", {}, el("code", {}, rule.id)),
        el("td", {}, ruleDetail(rule)),
        el("td", {}, `${rule.operations ? rule.operations.join(", ") : "all"}${rule.user ? ` · ${rule.user}` : ""}`),
        el("td", {}, howOften(rule)),
        el("td", {}, rule.fired),
        el("td", {}, el("button", { type: "button", onclick: act(() => control("DELETE", `faults/${rule.id}/`)) }, "remove")),
      ),
    ),
  );
}

function ruleFromForm() {
  const rule = { fault: $("#fault-kind").value };
  const operations = $("#fault-operations").value.split(/[\s,]+/).filter(Boolean);
  if (operations.length) rule.operations = operations;
  if ($("#fault-user").value) rule.user = $("#fault-user").value;
  const probability = Number($("#fault-probability").value);
  if (probability < 1) rule.probability = probability;
  if ($("#fault-times").value) rule.times = Number($("#fault-times").value);
  if (rule.fault === "delay") rule.delay_ms = Number($("#fault-delay").value);
  if (rule.fault === "result_backend") rule.backend = $("#fault-backend").value;
  return rule;
}

// -- the journal ---------------------------------------------------------------------------

function renderJournal(journal) {
  $("#journal-count").textContent = `${journal.recorded} since cleared, the last ${journal.size} kept`;
  $("#journal-rows").replaceChildren(
    ...journal.requests.reverse().map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.seq),
        el("td", {}, el("time", {}, utc(new Date(r.at)))),
        el("td", { class: "mono" }, `${r.method} ${r.path}${r.query ? `?${r.query}` : ""}`),
        el("td", {}, r.user || ""),
        el("td", { class: `status-${String(r.status)[0]}` }, r.dropped ? "dropped" : r.status),
        el("td", {}, r.duration_ms.toFixed(1)),
        el("td", { class: "muted" }, r.shaped_by || ""),
      ),
    ),
  );
}

// -- everything, every second --------------------------------------------------------------

let refreshing = null;
let refreshFailed = false; // the banner shows what the last refresh met, until one works

async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const path = $("#journal-path").value.trim();
      const query = new URLSearchParams({ limit: "30", ...(path ? { path } : {}) });
      const [clockNowAnswer, tasks, faults, journal, reload] = await Promise.all([
        control("GET", "clock/"),
        control("GET", "tasks/?limit=40"),
        control("GET", "faults/"),
        control("GET", `requests/?${query}`),
        control("GET", "reload/"),
      ]);
      clock = clockNowAnswer;
      clockFetched = performance.now();
      renderClock();
      renderTasks(tasks);
      renderFaults(faults);
      renderJournal(journal);
      if (reload.enabled && reload.error) {
        throw new Error(`reload failed, still serving generation ${reload.generation}: ${reload.error}`);
      }
      if (refreshFailed) clearError();
      refreshFailed = false;
    } catch (error) {
      showError(error);
      refreshFailed = true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// The accounts (for the creator and user choices) and the named worlds: read once, and again
// when the page is given a token.
async function loadAccounts() {
  try {
    const overview = await control("GET", "");
    const names = overview.accounts.map((a) => a.username);
    $("#new-creator").replaceChildren(...names.map((name) => el("option", {}, name)));
    $("#fault-user").replaceChildren(
      el("option", { value: "" }, "anyone"),
      ...names.map((name) => el("option", {}, name)),
    );
    if (!WORLD) {
      const { worlds } = await control("GET", "worlds/");
      $("#worlds").hidden = !worlds.length;
      $("#world-list").replaceChildren(
        ...worlds.map((w) => el("li", {}, el("a", { href: withToken(w.control) }, w.name), ` · ${w.tasks} tasks`)),
      );
    }
  } catch (error) {
    showError(error);
  }
}

function startToken() {
  const field = $("#control-token");
  const given = new URLSearchParams(location.search).get("token");
  field.value = given ?? sessionStorage.getItem(TOKEN_KEY) ?? "";
  const keep = () => {
    if (controlToken()) sessionStorage.setItem(TOKEN_KEY, controlToken());
    else sessionStorage.removeItem(TOKEN_KEY);
  };
  keep();
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    keep();
    clearError();
    loadAccounts().then(refresh);
  });
}

async function start() {
  startToken();
  $("#base").textContent = BASE;
  $("#world-name").textContent = WORLD ? `· world ${WORLD}` : "";
  $("#set-at").value = "";
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", act(() => control("POST", "clock/advance/", { seconds: Number(button.dataset.advance) })));
  }
  for (const button of document.querySelectorAll("[data-run]")) {
    button.addEventListener("click", act(() => control("POST", "clock/run/", { scale: Number(button.dataset.run) })));
  }
  for (const button of document.querySelectorAll("[data-fault]")) {
    button.addEventListener("click", act(() => control("POST", "faults/", JSON.parse(button.dataset.fault))));
  }
  $("#advance-form").addEventListener("submit", act(() => control("POST", "clock/advance/", { seconds: Number($("#advance-seconds").value) })));
  $("#set-form").addEventListener("submit", act(() => control("POST", "clock/set/", { at: `${$("#set-at").value}Z` })));
  $("#freeze").addEventListener("click", act(() => control("POST", "clock/freeze/")));
  $("#real-time").addEventListener("click", act(() => control("POST", "clock/real-time/")));
  $("#clear-faults").addEventListener("click", act(() => control("DELETE", "faults/")));
  $("#fault-form").addEventListener("submit", act(() => control("POST", "faults/", ruleFromForm())));
  $("#clear-journal").addEventListener("click", act(() => control("DELETE", "requests/")));
  $("#journal-path").addEventListener("change", () => refresh());
  $("#new-task").addEventListener(
    "submit",
    act(() =>
      control("POST", "tasks/", {
        creator: $("#new-creator").value,
        runs: $("#new-hangs").checked ? null : Number($("#new-runs").value),
        outcome: $("#new-outcome").value,
      }),
    ),
  );
  await loadAccounts();
  await refresh();
  document.body.dataset.ready = "true";
  setInterval(refresh, REFRESH_MS);
  setInterval(renderClock, 250);
}

start();
