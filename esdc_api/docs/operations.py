"""The reST of the endpoint sections: httpdomain directives built from the spec's operations.

A module page has one section per path, headed as the Danube Cloud docs did
(``/task/*(task_id)*/status``), holding an ``.. http:<method>::`` directive per operation: what it
does, whether it is DC-bound, its permission, whether it is asynchronous, who may call it, its
parameters and request body, its status codes and response headers, the fields of its answer,
and then its executed ``es`` examples with the same request as curl.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from esdc_api.docs.curl import curl_command
from esdc_api.docs.examples import ExampleRun
from esdc_api.docs.markdown import inline_to_rst, to_rst
from esdc_api.spec import Spec, operations

#: Lists in an answer longer than this are cut in the page (the build checked them whole).
SHOWN_ITEMS = 3
_HTTP_REASONS = {
    200: "OK", 201: "Created", 301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 410: "Gone",
    412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
}  # fmt: skip
_PLAIN_HEADERS = {"content-length", "allow"}


def heading(path: str) -> str:
    """A path as the Danube Cloud docs headed it: ``/task/{task_id}/`` → ``/task/*(task_id)*``."""
    return re.sub(r"\{(\w+)\}", r"*(\1)*", path.rstrip("/") or "/")


def route(path: str) -> str:
    """A path as httpdomain writes it: ``/task/{task_id}/`` → ``/task/(task_id)/``."""
    return re.sub(r"\{(\w+)\}", r"(\1)", path)


def paths_for_tags(spec: Spec, tags: Iterable[str]) -> list[str]:
    """The paths with an operation tagged with one of ``tags``, in spec order."""
    wanted = set(tags)
    found: list[str] = []
    for path, _method, operation in operations(spec):
        if wanted & set(operation.get("tags", [])) and path not in found:
            found.append(path)
    return found


def sections(
    spec: Spec,
    paths: Sequence[str],
    runs: Sequence[ExampleRun] = (),
    *,
    prefix: str = "",
    underline: str = "-",
    prefer: bool = False,
) -> str:
    """One section per path of ``paths``, with its operations and their examples.

    :param prefix: what to put before each path (``/control`` for the control API).
    :param prefer: say, before each operation's examples, which answers the reference
        server gives on demand (``Prefer: code=...``).
    """
    out: list[str] = []
    for path in paths:
        title = heading(prefix + path)
        out += [title, underline * len(title), ""]
        for method, operation in _operations_of(spec["paths"][path]):
            own_runs = [
                r for r in runs if r.example.path == path and r.example.method == method.upper()
            ]
            out += operation_block(spec, prefix + path, method, operation, own_runs, prefer)
    return "\n".join(out) + "\n"


def _operations_of(item: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    return [(method, item[method]) for method in methods if method in item]


def operation_block(
    spec: Spec,
    path: str,
    method: str,
    operation: Mapping[str, Any],
    runs: Sequence[ExampleRun],
    prefer: bool = False,
) -> list[str]:
    """The ``.. http:<method>::`` directive of one operation, and its examples."""
    summary = operation.get("summary", "")
    body: list[str] = []
    if summary:
        body += [f"**{inline_to_rst(summary)}**", ""]
    if operation.get("description"):
        body += [to_rst(operation["description"]), ""]
    body += _facts(spec, operation)
    body += _parameters(spec["paths"][path_key(spec, path)], operation)
    body += _request_body(operation)
    body += _responses(operation)
    if prefer and method != "options":
        body += prefer_note(operation)
    block = [f".. http:{method}:: {route(path)}"]
    if summary:
        block.append(f"   :synopsis: {summary}")
    block += [""] + _indent(body, 3) + [""]
    for number, run in enumerate(runs, 1):
        block += _indent(example_block(run, f"{method}-{path}-{number}"), 3) + [""]
    return block


def prefer_note(operation: Mapping[str, Any]) -> list[str]:
    """Which documented answers the reference server gives on demand, by code and example."""
    codes = []
    for code in sorted(c for c in operation.get("responses", {}) if c.isdigit()):
        media = operation["responses"][code].get("content", {}).get("application/json", {})
        names = ", ".join(f"``{name}``" for name in media.get("examples", {}))
        codes.append(f"{code}{f' ({names})' if names else ''}")
    if not codes:
        return []
    return [
        "**On demand** from the reference server (:ref:`Prefer <prefer>`): "
        "``Prefer: code=CODE``, ``example=NAME`` or both (``?__code=``, ``?__example=``), "
        f"of {'; '.join(codes)}.",
        "",
    ]


def path_key(spec: Spec, path: str) -> str:
    """The key of ``path`` in ``spec["paths"]``, ignoring a prefix written before it."""
    keys: list[str] = list(spec["paths"])
    if path in keys:
        return path
    return next(key for key in keys if path.endswith(key))


def _facts(spec: Spec, operation: Mapping[str, Any]) -> list[str]:
    """The Danube Cloud docs' facts of an operation, one field each: ``DC-bound: ✗ no``.

    (The original pages wrote ``:DC-bound?:`` over a one-item list, which renders as
    "DC-bound?:" with the answer on the next line.)
    """
    lines: list[str] = []
    if "x-dc-bound" in operation:
        lines += [f":DC-bound: |dc-{'yes' if operation['x-dc-bound'] else 'no'}|"]
    if "x-permission" in operation:
        permission = operation["x-permission"]
        lines += [f":Permission: |{permission}|" if permission else ":Permission: none"]
    if "x-asynchronous" in operation:
        lines += [f":Asynchronous: |async-{'yes' if operation['x-asynchronous'] else 'no'}|"]
    if "security" in spec:
        schemes = operation.get("security", spec["security"])
        names = [name for requirement in schemes for name in requirement]
        described = " or ".join(_SCHEME_NAMES.get(name, name) for name in names)
        lines += [
            f":Credentials: {described or 'none'} (:ref:`authentication <api-authentication>`)"
        ]
    return lines + ([""] if lines else [])


_SCHEME_NAMES = {"ApiKey": "API key (``ES-API-KEY``)", "Token": "token (``Authorization: Token``)"}


def _parameters(item: Mapping[str, Any], operation: Mapping[str, Any]) -> list[str]:
    params = {
        (p["in"], p["name"]): p
        for p in [*item.get("parameters", []), *operation.get("parameters", [])]
    }
    lines: list[str] = []
    for (where, name), param in params.items():
        field = {"path": "param", "query": "query", "header": "reqheader"}.get(where)
        if field is None:
            continue
        schema = param.get("schema", {})
        text = to_rst(param.get("description", "")).strip()
        if param.get("required") and where == "path":
            text = _join("**required** -", text) if text else "**required**"
        text = _join(text, _constraints(schema))
        lines += _field(f"{field} {name}", text)
        if field != "reqheader":
            lines += [
                f":{'paramtype' if field == 'param' else 'qtype'} {name}: {type_text(schema)}"
            ]
    return lines + ([""] if lines else [])


def _request_body(operation: Mapping[str, Any]) -> list[str]:
    body = operation.get("requestBody")
    if not body:
        return []
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    lines = []
    required = set(schema.get("required", []))
    for name, prop in merged_properties(schema).items():
        text = _describe(prop)
        if name in required:
            text = _join("**required** -", text) if text else "**required**"
        lines += _field(f"reqjson {json_type(prop)} {name}", _join(text, _constraints(prop)))
    if lines:
        need = "required" if body.get("required") else "optional"
        lines = [f"The request body, a JSON object, is {need}.", ""] + lines
    return lines + ([""] if lines else []) + _body_examples(body)


def _body_examples(body: Mapping[str, Any]) -> list[str]:
    """The spec's examples of a request body, as JSON blocks under their summaries."""
    media = body.get("content", {}).get("application/json", {})
    examples = dict(media.get("examples", {}))
    if "example" in media:
        examples["example"] = {"value": media["example"]}
    lines: list[str] = []
    for example in examples.values():
        summary = example.get("summary", "")
        lines += [f"Example request body{f': {inline_to_rst(summary)}' if summary else ''}:", ""]
        lines += [".. code-block:: json", ""]
        lines += _indent(json.dumps(example.get("value"), indent=4).splitlines(), 3) + [""]
    return lines


def _responses(operation: Mapping[str, Any]) -> list[str]:
    responses = operation.get("responses", {})
    lines: list[str] = []
    headers: dict[str, str] = {}
    for code in sorted(responses, key=lambda c: (not c.isdigit(), c)):
        response = responses[code]
        lines += _field(f"status {code}", to_rst(response.get("description", "")).strip())
        for name, header in response.get("headers", {}).items():
            headers.setdefault(name, to_rst(header.get("description", "")).strip())
    for name, text in headers.items():
        lines += _field(f"resheader {name}", text)
    lines += _response_fields(responses)
    return lines + ([""] if lines else [])


def _response_fields(responses: Mapping[str, Any]) -> list[str]:
    """The fields of the first successful answer, when it is one JSON object.

    When the answers of other statuses have the same fields (a task's state, whose status
    follows it), a field whose values differ between them lists each status' values.
    """
    first = next(
        (c for c in sorted(responses) if c.startswith("2") and _objects(responses[c])), None
    )
    if first is None:
        return []
    fields = _objects(responses[first])[0]
    alike = {
        code: found[0]
        for code in sorted(responses)
        if (found := [props for props in _objects(responses[code]) if set(props) == set(fields)])
    }
    lines: list[str] = []
    for name, prop in fields.items():
        values = {code: props[name].get("enum") for code, props in alike.items()}
        if len(alike) > 1 and all(values.values()) and len({str(v) for v in values.values()}) > 1:
            constraints = _join(_per_status(values), _constraints({**prop, "enum": None}))
        else:
            constraints = _constraints(prop)
        lines += _field(f"resjson {json_type(prop)} {name}", _join(_describe(prop), constraints))
    return lines


def _objects(response: Mapping[str, Any]) -> list[dict[str, dict[str, Any]]]:
    """The properties of each object an answer's JSON schema allows (each of a ``oneOf``)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return []
    return [props for part in schema.get("oneOf", [schema]) if (props := merged_properties(part))]


def _per_status(values: Mapping[str, Any]) -> str:
    """``SUCCESS`` with 200, ``PENDING`` or ``STARTED`` with 201, ...: values by status."""
    by_values: dict[str, list[str]] = {}
    for code, enum in values.items():
        by_values.setdefault(" or ".join(_literal(v) for v in enum), []).append(code)
    parts = [f"{shown} with {_or(codes)}" for shown, codes in by_values.items()]
    return "By status: " + ", ".join(parts) + "."


def _or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _describe(prop: Mapping[str, Any]) -> str:
    """A field's description; for a named schema (one with a title) its first sentence only,
    since the same schema describes itself in full wherever it stands on its own."""
    text = str(prop.get("description", "")).strip()
    if "title" in prop and ". " in text:
        text = text[: text.index(". ") + 1]
    return to_rst(text).strip()


def merged_properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of an object schema, those of its ``allOf`` parts merged in order."""
    merged: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", []):
        for name, prop in merged_properties(part).items():
            merged[name] = {**merged.get(name, {}), **prop}
    for name, prop in schema.get("properties", {}).items():
        merged[name] = {**merged.get(name, {}), **prop}
    return merged


def json_type(schema: Mapping[str, Any]) -> str:
    """One word for a schema's type, as httpdomain's typed fields want it."""
    if "type" in schema:
        return str(schema["type"])
    for part in schema.get("allOf", []):
        if "type" in part:
            return str(part["type"])
    return "any"


def type_text(schema: Mapping[str, Any]) -> str:
    """A schema's type in words: ``string (date)``, ``array of string``."""
    kind = json_type(schema)
    if kind == "array" and "items" in schema:
        return f"array of {type_text(schema['items'])}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return kind


def _constraints(schema: Mapping[str, Any]) -> str:
    notes = []
    if schema.get("enum"):
        notes.append("One of: " + ", ".join(_literal(v) for v in schema["enum"]) + ".")
    if "default" in schema:
        notes.append(f"Default: {_literal(schema['default'])}.")
    if "minimum" in schema:
        notes.append(f"Minimum: {_literal(schema['minimum'])}.")
    if "maximum" in schema:
        notes.append(f"Maximum: {_literal(schema['maximum'])}.")
    if schema.get("nullable"):
        notes.append("May be ``null``.")
    return " ".join(notes)


def _literal(value: Any) -> str:
    return f"``{json.dumps(value) if not isinstance(value, str) else value}``"


def _join(*texts: str) -> str:
    return " ".join(text for text in texts if text)


def _field(name: str, text: str) -> list[str]:
    first, *rest = (text or "").splitlines() or [""]
    return [f":{name}: {first}".rstrip(), *_indent(rest, 4)]


def _indent(lines: Iterable[str], width: int) -> list[str]:
    pad = " " * width
    return [pad + line if line.strip() else "" for line in "\n".join(lines).splitlines()]


def example_block(run: ExampleRun, name: str) -> list[str]:
    """One executed example: who ran it, the es command and its output, and the same as curl."""
    example, exchange = run.example, run.exchange
    assert exchange is not None  # checked when the example ran
    who = f"as ``{example.user}``" if example.user else "without credentials"
    label = f", the spec's ``{example.example}`` example" if example.example else ""
    envelope, cut = _shown(run.envelope)
    note = [f"es printed {cut}; the page shows the first {SHOWN_ITEMS}.", ""] if cut else []
    body_text, _ = _shown_body(exchange.response_body, exchange.content_type)
    response = [f"HTTP/1.1 {exchange.status} {_HTTP_REASONS.get(exchange.status, '')}".rstrip()]
    response += [
        f"{k}: {v}" for k, v in exchange.response_headers if k.lower() not in _PLAIN_HEADERS
    ]
    response += ["", *body_text.splitlines()]
    anchor = "example-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return [
        f"|es example| {who}, answered ``{exchange.status}``{label}:",
        "",
        ".. container:: esdc-example",
        f"   :name: {anchor}",
        "",
        "   .. tab-set::",
        "      :sync-group: client",
        "",
        "      .. tab-item:: es",
        "         :sync: es",
        "",
        "         .. code-block:: bash",
        "",
        f"            {example.command}",
        "",
        "         .. code-block:: json",
        "",
        *_indent(envelope.splitlines(), 12),
        "",
        *_indent(note, 9),
        "      .. tab-item:: curl",
        "         :sync: curl",
        "",
        "         .. code-block:: bash",
        "",
        *_indent(curl_command(exchange).splitlines(), 12),
        "",
        "         .. code-block:: http",
        "",
        *_indent(response, 12),
        "",
    ]


def _shown(envelope: dict[str, Any]) -> tuple[str, str]:
    """The envelope as es prints it, long lists cut, and what was cut ("10 entries ...")."""
    text = envelope.get("text")
    cut = ""
    if (
        isinstance(text, dict)
        and isinstance(text.get("results"), list)
        and len(text["results"]) > SHOWN_ITEMS
    ):
        cut = f"{len(text['results'])} entries under ``results``"
        envelope = {
            **envelope,
            "text": {**text, "results": [*text["results"][:SHOWN_ITEMS], {"...": "..."}]},
        }
    return json.dumps(envelope, indent=4), cut


def _shown_body(body: bytes, content_type: str) -> tuple[str, str]:
    text = body.decode("utf-8", errors="replace")
    if not content_type.endswith("json"):
        return text, ""
    try:
        document = json.loads(text)
    except ValueError:
        return text, ""
    shown, cut = _shown({"text": document})
    return (json.dumps(json.loads(shown)["text"], indent=4) if cut else text), cut
