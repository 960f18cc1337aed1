"""The operations of the task API: each parses its request, calls the deployment once and
shapes the answer. Connexion finds them by the spec's operationIds."""

from __future__ import annotations

import inspect
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from connexion import request
from starlette.responses import Response

from mockserver.accounts import Dc, User
from mockserver.deployment import Deployment
from mockserver.errors import AuthenticationFailed, PreconditionFailed
from mockserver.lifecycle import TaskStatus
from mockserver.middleware import Caller, caller_of
from mockserver.responses import json_response
from mockserver.tasklog import LogFilter, LogStatus, Order
from mockserver.validation import PARAMS_KEY

_TASK_RESPONSE = {"es_task_response": "true"}


def handler_for(handlers: object, operation_id: str) -> Any:
    """The coroutine method of ``handlers`` named by ``operation_id``; fails at start-up, not
    on the first request, if there is none."""
    handler = getattr(handlers, operation_id, None)
    if operation_id.startswith("_") or not inspect.iscoroutinefunction(handler):
        raise LookupError(
            f"no handler for operationId {operation_id!r} in {type(handlers).__name__}"
        )
    return handler


class Handlers:
    """The handlers of one deployment, looked up by operationId."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def resolve(self, operation_id: str) -> Any:
        """Connexion's function resolver: the handler for ``operation_id``."""
        return handler_for(self, operation_id)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _params() -> dict[str, Any]:
        params: dict[str, Any] = request.scope.get(PARAMS_KEY, {})
        return params

    def _context(self, body: Any = None) -> tuple[User, Dc, Caller]:
        caller = caller_of(request.scope)
        assert caller.user is not None
        if request.method == "GET":
            name = self._params().get("dc")
        else:
            name = body.get("dc") if isinstance(body, dict) else None
        dc = self.deployment.resolve_dc(caller.user, name or caller.path_dc)
        caller.dc_name = dc.name
        return caller.user, dc, caller

    @staticmethod
    def _json(
        status: HTTPStatus | int, body: Any, headers: dict[str, str] | None = None
    ) -> Response:
        return json_response(status, body, accept=request.headers.get("accept"), headers=headers)

    def _status(self, status: TaskStatus) -> Response:
        body = {"status": str(status.state), "result": status.result, "task_id": status.task_id}
        return self._json(status.http_status, body, _TASK_RESPONSE)

    # -- tasks ----------------------------------------------------------------------------

    async def taskList(self) -> Response:
        user, dc, _caller = self._context()
        return self._json(HTTPStatus.OK, self.deployment.task_list(user, dc))

    async def taskDetails(self, task_id: str) -> Response:
        user, dc, _caller = self._context()
        return self._json(HTTPStatus.OK, self.deployment.task_details(user, dc, task_id))

    async def taskDelete(self, task_id: str, body: Any = None) -> Response:
        user, dc, _caller = self._context(body)
        force = bool(body.get("force", False)) if isinstance(body, dict) else False
        return self._json(
            HTTPStatus.OK, self.deployment.task_delete(user, dc, task_id, force=force)
        )

    async def taskStatus(self, task_id: str) -> Response:
        user, _dc, _caller = self._context()
        return self._status(self.deployment.task_status(user, task_id))

    taskState = taskStatus

    async def taskDone(self, task_id: str) -> Response:
        user, _dc, _caller = self._context()
        status = self.deployment.task_status(user, task_id)
        return self._json(status.http_status, {"done": status.done, "task_id": status.task_id})

    async def taskCancel(self, task_id: str, body: Any = None) -> Response:
        user, dc, _caller = self._context(body)
        force = bool(body.get("force", False)) if isinstance(body, dict) else False
        return self._status(self.deployment.task_cancel(user, dc, task_id, force=force))

    # -- the task log ---------------------------------------------------------------------

    async def taskLog(self) -> Response:
        user, dc, caller = self._context()
        params = self._params()
        number = params.get("page")
        if number is None:
            entries = self.deployment.log_last(user, dc)
            return self._json(HTTPStatus.OK, {"results": [e.as_cached_item() for e in entries]})
        order = Order.parse(params.get("order_by") or "-time")
        if order is None:  # the spec's enum lets only known orders through
            raise PreconditionFailed("Invalid order_by; Possible sort fields are: time")
        flt = LogFilter(
            status=LogStatus(params["status"]) if params.get("status") else None,
            object_type=params.get("object_type") or None,
            object_name=params.get("object_name") or None,
            show_running=params.get("show_running", False),
            hide_auto=params.get("hide_auto", False),
            date_from=_date(params.get("date_from")),
            date_to=_date(params.get("date_to")),
        )
        page = self.deployment.log_page(user, dc, flt, number, order)
        return self._json(
            HTTPStatus.OK,
            {
                "count": page.count,
                "next": self._page_url(caller, page.number + 1) if page.has_next else None,
                "previous": (
                    None
                    if page.previous_number is None
                    else self._page_url(caller, page.previous_number)
                ),
                "results": [e.as_page_item() for e in page.entries],
            },
        )

    @staticmethod
    def _page_url(caller: Caller, number: int) -> str:
        """The request's absolute URL with ``page`` replaced; parameters sorted, as Django
        REST framework's ``replace_query_param`` writes them."""
        params = dict(request.query_params)
        params["page"] = str(number)
        url = request.url.replace(
            path=caller.original_path, query=urlencode(sorted(params.items()))
        )
        return str(url)

    async def taskLogStats(self) -> Response:
        user, dc, _caller = self._context()
        last = self._params().get("last", 86400)
        return self._json(HTTPStatus.OK, self.deployment.log_stats(user, dc, last).as_json())

    # -- accounts -------------------------------------------------------------------------

    async def login(self, body: Any = None) -> Response:
        body = body or {}
        token = self.deployment.login(body["username"], body["password"])
        return self._json(
            HTTPStatus.OK,
            {
                "token": token.key,
                "expires": token.expires_at().isoformat(),
                "detail": "Welcome to Danube Cloud API.",
            },
        )

    async def logout(self) -> Response:
        caller = caller_of(request.scope)
        authorization = request.headers.get("authorization", "")
        parts = authorization.split()
        if len(parts) == 2 and parts[0].lower() == "token":
            self.deployment.logout(parts[1])
        elif caller.user is None:
            raise AuthenticationFailed()
        return self._json(HTTPStatus.OK, {"detail": "Bye."})


def _date(value: str | None) -> Any:
    from datetime import date

    return None if not value else date.fromisoformat(value)
