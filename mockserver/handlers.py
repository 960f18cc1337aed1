"""The operations of the task API: each parses its request, calls the deployment once and
shapes the answer. The pipeline calls them by the spec's operationIds, each with a
:class:`~mockserver.dispatch.Call` that is already validated."""

from __future__ import annotations

import asyncio
from datetime import date
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.responses import Response

from mockserver.accounts import Dc, User
from mockserver.clock import ControlledClock
from mockserver.deployment import Deployment
from mockserver.dispatch import Call, Caller
from mockserver.errors import DummyTask, PreconditionFailed
from mockserver.lifecycle import TaskStatus
from mockserver.negotiation import indent_of
from mockserver.responses import json_response, rendered_response
from mockserver.tasklog import LogFilter, LogStatus, Order, Page
from mockserver.validation import parse_date
from mockserver.worldset import PREFIX_KEY

_TASK_RESPONSE = {"es_task_response": "true"}
#: How many page links are kept (a client paging through a log asks for the same ones).
PAGE_URLS = 4096


class Handlers:
    """The handlers of one deployment, looked up by operationId."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._page_urls: dict[tuple[Any, ...], str] = {}

    # -- helpers --------------------------------------------------------------------------

    def _context(self, call: Call) -> tuple[User, Dc, Caller]:
        """The caller and the datacenter the request runs in, as the pipeline settled them."""
        user, caller = call.user, call.caller
        dc = caller.dc if caller.dc is not None else self.deployment.dc_by_id(user.current_dc)
        caller.dc_name = dc.name
        return user, dc, caller

    @staticmethod
    def _json(
        call: Call, status: HTTPStatus | int, body: Any, headers: dict[str, str] | None = None
    ) -> Response:
        return json_response(status, body, accept=call.accept, headers=headers)

    def _status(self, call: Call, status: TaskStatus) -> Response:
        body = {"status": str(status.state), "result": status.result, "task_id": status.task_id}
        return self._json(call, status.http_status, body, _TASK_RESPONSE)

    # Reads say how long their answer holds (mockserver/answers.py): the task list, a task's
    # details and the log change only when the store does; a task's status also as time
    # passes, and the statistics as their window moves on.

    # -- tasks ----------------------------------------------------------------------------

    async def taskList(self, call: Call) -> Response:
        user, dc, _caller = self._context(call)
        call.keep()
        return self._json(call, HTTPStatus.OK, self.deployment.task_list(user, dc))

    async def taskDetails(self, call: Call) -> Response:
        user, dc, _caller = self._context(call)
        task_id = call.path_params["task_id"]
        details = self.deployment.task_details(user, dc, task_id)
        call.keep()
        return self._json(call, HTTPStatus.OK, details)

    async def taskDelete(self, call: Call) -> Response:
        user, dc, _caller = self._context(call)
        force = _force(call.body)
        task_id = call.path_params["task_id"]
        return self._json(
            call, HTTPStatus.OK, self.deployment.task_delete(user, dc, task_id, force=force)
        )

    async def taskStatus(self, call: Call) -> Response:
        user, _dc, _caller = self._context(call)
        try:
            status = self.deployment.task_status(user, call.path_params["task_id"])
        except DummyTask as exc:  # a task response too, on real deployments
            raise exc.with_headers(_TASK_RESPONSE) from None
        call.keep(until=status.changes_at)
        return self._status(call, status)

    taskState = taskStatus

    async def taskDone(self, call: Call) -> Response:
        user, _dc, _caller = self._context(call)
        status = self.deployment.task_status(user, call.path_params["task_id"])
        call.keep(until=status.changes_at)
        return self._json(
            call, status.http_status, {"done": status.done, "task_id": status.task_id}
        )

    async def taskCancel(self, call: Call) -> Response:
        user, dc, _caller = self._context(call)
        task_id = call.path_params["task_id"]
        answer_at = self.deployment.task_cancel(user, dc, task_id, force=_force(call.body))
        # Real deployments sleep a second before they read the task's state back: here a
        # second of the server's clock (none when it is frozen: the state is read a second on).
        now = self.deployment.now()
        wait = (answer_at - now).total_seconds()
        clock = self.deployment.clock
        real = clock.real_seconds(wait) if isinstance(clock, ControlledClock) else wait
        if real > 0:
            await asyncio.sleep(min(real, 1.0))
        self.deployment.settle()
        moment = max(self.deployment.now(), answer_at)
        return self._status(call, self.deployment.status_at(task_id, moment))

    # -- the task log ---------------------------------------------------------------------

    async def taskLog(self, call: Call) -> Response:
        user, dc, caller = self._context(call)
        params = call.params
        number = params.get("page")
        call.keep()
        # Entries come rendered by the store unless the client asks for indented JSON.
        rendered = indent_of(call.accept) is None
        if number is None:
            if rendered:
                items = self.deployment.log_last_json(user, dc)
                return rendered_response(HTTPStatus.OK, {}, "results", items)
            entries = self.deployment.log_last(user, dc)
            return self._json(
                call, HTTPStatus.OK, {"results": [e.as_cached_item() for e in entries]}
            )
        order = _order(params.get("order_by"))
        flt = LogFilter(
            status=LogStatus(params["status"]) if params.get("status") else None,
            object_type=params.get("object_type") or None,
            object_name=params.get("object_name") or None,
            show_running=params.get("show_running", False),
            hide_auto=params.get("hide_auto", False),
            date_from=_date(params.get("date_from")),
            date_to=_date(params.get("date_to")),
        )
        if rendered:
            json_page = self.deployment.log_page_json(user, dc, flt, number, order)
            head = self._page_links(call, json_page)
            return rendered_response(HTTPStatus.OK, head, "results", json_page.entries)
        page = self.deployment.log_page(user, dc, flt, number, order)
        results = [e.as_page_item() for e in page.entries]
        return self._json(call, HTTPStatus.OK, {**self._page_links(call, page), "results": results})

    def _page_links(self, call: Call, page: Page[Any]) -> dict[str, Any]:
        return {
            "count": page.count,
            "next": self._page_url(call, page.number + 1) if page.has_next else None,
            "previous": (
                None if page.previous_number is None else self._page_url(call, page.previous_number)
            ),
        }

    def _page_url(self, call: Call, number: int) -> str:
        """:func:`_page_url`, kept by everything it is made of: parsing and writing the URL
        took about 170 µs a link on a loaded machine, for an answer of about 650 µs."""
        scope = call.scope
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        server = scope.get("server")  # a tuple from uvicorn, a list from some test clients
        key = (
            scope.get("scheme"),
            None if server is None else tuple(server),
            scope.get("root_path", ""),
            host,
            scope.get(PREFIX_KEY, ""),
            call.caller.original_path,
            scope.get("query_string", b""),
            number,
        )
        found = self._page_urls.get(key)
        if found is None:
            if len(self._page_urls) >= PAGE_URLS:
                self._page_urls.clear()
            found = self._page_urls[key] = _page_url(call, number)
        return found

    async def taskLogStats(self, call: Call) -> Response:
        user, dc, _caller = self._context(call)
        last = call.params.get("last", 86400)
        stats = self.deployment.log_stats(user, dc, last, expiry=call.keeping)
        call.keep(until=stats.changes_at)
        return self._json(call, HTTPStatus.OK, stats.as_json())

    # -- accounts -------------------------------------------------------------------------

    async def login(self, call: Call) -> Response:
        body = call.body or {}
        token = self.deployment.login(body["username"], body["password"])
        user = self.deployment.users[token.user_id]
        # A login answers as the user it logged in, in that user's current datacenter.
        call.caller.user = user
        call.caller.dc_name = self.deployment.dc_by_id(user.current_dc).name
        return self._json(
            call,
            HTTPStatus.OK,
            {
                "token": token.key,
                "expires": self.deployment.token_expires(token).isoformat(),
                "detail": "Welcome to Danube Cloud API.",
            },
        )

    async def ping(self, call: Call) -> Response:
        # Real deployments answer it without the request: no es_* headers.
        call.caller.plain = True
        return self._json(call, HTTPStatus.OK, "pong")

    async def logout(self, call: Call) -> Response:
        call.user  # noqa: B018 -- only a caller who authenticated may log out
        # Only the token the caller authenticated with ends: by API key, nothing does (real
        # deployments try to delete the key's "token" and fail silently), whatever
        # Authorization header came with it.
        if call.caller.token is not None:
            self.deployment.logout(call.caller.token)
        return self._json(call, HTTPStatus.OK, {"detail": "Bye."})


def _date(value: str | None) -> date | None:
    return None if not value else parse_date(value)


def _order(value: str | None) -> Order:
    """The order an ``order_by`` asks for: its first field decides (``time,-time`` is oldest
    first), ``-`` or ``+`` in front is newest first; empty is the default, newest first."""
    if not value:
        return Order.NEWEST_FIRST
    order = Order.parse(value.split(",")[0].strip())
    if order is None:  # the spec's pattern lets only known orders through
        raise PreconditionFailed("Invalid order_by; Possible sort fields are: time")
    return order


def _force(body: Any) -> bool:
    """``force`` of a cancel or delete body, already read as a boolean (BodyRules)."""
    return bool(body.get("force", False)) if isinstance(body, dict) else False


def _page_url(call: Call, number: int) -> str:
    """The request's absolute URL with ``page`` replaced, as Django REST framework's
    ``replace_query_param`` writes it: blank parameters dropped, repeated ones kept, and
    the parameters sorted."""
    params = {
        name: values
        for name, values in parse_qs(call.scope.get("query_string", b"").decode("latin-1")).items()
    }
    params["page"] = [str(number)]
    url = call.url.replace(
        path=call.scope.get(PREFIX_KEY, "") + call.caller.original_path,
        query=urlencode(sorted(params.items()), doseq=True),
    )
    return str(url)
