"""Running the spec's ``es`` examples against the reference server, and checking what came back.

Each operation's ``x-es-examples`` entry names an ``es`` command, the demo user who runs it, the
HTTP status it gets and the spec example its answer looks like. :func:`run_examples` runs them
all, in spec order (the order the pages show them), in one reference server with the demo world
at a frozen clock, so that one example's effect shows in the next (a task cancelled in the
cancel example is ``REVOKED`` in the task log below it). :func:`check_run` then holds each answer
to the spec: the promised status, and the response schema of that status.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shlex
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from esdc_api.docs.errors import ExamplesFailed, SpecGap
from esdc_api.spec import Spec, operations

#: Where es sends its requests; the in-process client answers for this host.
API_URL = "http://127.0.0.1:8000/api"


@dataclasses.dataclass(frozen=True)
class EsExample:
    """One ``x-es-examples`` entry of an operation.

    :param user: the demo user who runs the command (with their API key), or ``None`` for
        nobody logged in.
    :param example: the name of the spec example the answer looks like, if the entry names one.
    """

    method: str
    path: str
    command: str
    user: str | None
    status: int
    example: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def __str__(self) -> str:
        who = f" as {self.user}" if self.user else " without credentials"
        return f"{self.endpoint}: `{self.command}`{who}"


@dataclasses.dataclass(frozen=True)
class Exchange:
    """The HTTP request es sent and the answer it got, as they went over the wire."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers:
            if name.lower() == "content-type":
                return value.split(";")[0].strip()
        return ""


@dataclasses.dataclass(frozen=True)
class ExampleRun:
    """An example after it ran: es's exit code, what it printed, and the exchange behind it."""

    example: EsExample
    exit_code: int
    output: str
    messages: str
    exchange: Exchange | None

    @property
    def envelope(self) -> dict[str, Any]:
        """What es printed, parsed: ``{"url", "status", "method", "text"}``."""
        document: dict[str, Any] = json.loads(self.output)
        return document


def examples_of(spec: Spec) -> list[EsExample]:
    """Every ``x-es-examples`` entry of ``spec``, in spec order.

    :raises SpecGap: if an entry promises a status the operation does not document, or names
        an example that the response of that status does not have.
    """
    found = []
    for path, method, operation in operations(spec):
        for entry in operation.get("x-es-examples", []):
            example = EsExample(
                method=method.upper(),
                path=path,
                command=str(entry["command"]),
                user=entry.get("user"),
                status=int(entry["status"]),
                example=entry.get("example"),
            )
            _check_declared(example, operation)
            found.append(example)
    return found


def _check_declared(example: EsExample, operation: Mapping[str, Any]) -> None:
    responses = operation.get("responses", {})
    response = responses.get(str(example.status))
    if response is None:
        documented = ", ".join(sorted(responses))
        raise SpecGap(
            f"{example}: x-es-examples promises status {example.status}, which the operation "
            f"does not document (it documents {documented}); fix the status or add the response"
        )
    if example.example is None:
        return
    names = {
        name for media in response.get("content", {}).values() for name in media.get("examples", {})
    }
    if example.example not in names:
        raise SpecGap(
            f"{example}: x-es-examples names the example {example.example!r}, which the "
            f"{example.status} response does not have (it has {', '.join(sorted(names)) or 'none'})"
        )


def run_examples(
    spec: Spec,
    *,
    start: datetime,
    progress: Callable[[str], None] = lambda line: None,
) -> list[ExampleRun]:
    """Run every es example of ``spec`` in one fresh reference server and return the runs.

    The server holds the demo world at ``start``, its clock frozen and throttling off. Each
    user runs with their own API key (``demo-<name>-key``) and their own token store.

    :param progress: called with a line per example as it runs.
    :raises SpecGap: if an example is declared wrongly (see :func:`examples_of`).
    :raises ExamplesFailed: if an answer differs from what the spec promises.
    """
    from starlette.testclient import TestClient

    from esdc_api.es import run
    from mockserver import Settings, create_app

    examples = examples_of(spec)
    app = create_app(Settings(start=start, scale=0, throttle=False, cors_origins=()), spec=spec)
    runs: list[ExampleRun] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="esdc-docs-") as home:
        client = _RecordingClient(TestClient(app, base_url="http://127.0.0.1:8000"))
        try:
            for number, example in enumerate(examples, 1):
                stdout, stderr = io.StringIO(), io.StringIO()
                exit_code = run(
                    shlex.split(example.command),
                    client=client,
                    env=_environment(example.user, Path(home)),
                    stdout=stdout,
                    stderr=stderr,
                )
                exchanges = client.take()
                done = ExampleRun(
                    example,
                    exit_code,
                    stdout.getvalue(),
                    stderr.getvalue(),
                    exchanges[-1] if exchanges else None,
                )
                problem = check_run(done, spec)
                answered = done.exchange.status if done.exchange else "no answer"
                progress(
                    f"es example {number}/{len(examples)}: {example} -> {answered}"
                    + (" FAILED" if problem else "")
                )
                if problem:
                    failures.append(problem)
                runs.append(done)
        finally:
            client.close()
    if failures:
        raise ExamplesFailed(failures)
    return runs


def _environment(user: str | None, home: Path) -> dict[str, str]:
    env = {"ES_API_URL": API_URL, "ES_TOKEN_STORE": str(home / (user or "nobody") / "es-token")}
    if user:
        env["ES_API_KEY"] = f"demo-{user}-key"
    return env


def check_run(done: ExampleRun, spec: Spec) -> str | None:
    """What is wrong with an example's answer, or ``None`` when it is what the spec promises.

    The answer must have the promised status, a content type that the response of that status
    documents, and a body that validates against that content's schema.
    """
    example, exchange = done.example, done.exchange
    if exchange is None:
        why = done.messages.strip() or f"exit code {done.exit_code}"
        return f"{example}: es sent no request ({why})"
    if exchange.status != example.status:
        return (
            f"{example}: answered {exchange.status}, but x-es-examples promises {example.status}; "
            f"the answer was {_short(exchange.response_body)}"
        )
    operation = spec["paths"][example.path][example.method.lower()]
    content = operation["responses"][str(example.status)].get("content", {})
    if not content:
        return None
    media = content.get(exchange.content_type)
    if media is None:
        kind = exchange.content_type or "no content type"
        return (
            f"{example}: answered {exchange.status} as {kind!r}, which the {example.status} "
            f"response does not document ({', '.join(content)})"
        )
    body = _parse(exchange)
    errors = list(_schema_errors(media.get("schema", {}), body))
    if errors:
        return (
            f"{example}: the {example.status} answer does not match the spec's response schema: "
            f"{'; '.join(errors)}; the answer was {_short(exchange.response_body)}"
        )
    return None


def _parse(exchange: Exchange) -> Any:
    text = exchange.response_body.decode("utf-8", errors="replace")
    if exchange.content_type.endswith("json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _schema_errors(schema: Mapping[str, Any], body: Any) -> Iterator[str]:
    from jsonschema.exceptions import best_match
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    error = best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        yield f"{error.message} (at {'/' + where if where else 'the top of the body'})"


def _short(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _RecordingClient:
    """An HTTP client that passes everything to another and keeps what it carried.

    es takes any client with httpx's interface; this one sits between es and the in-process
    client so that the docs can show each request as curl and check the answer's raw bytes.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent: list[tuple[Any, Any]] = []

    def build_request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.inner.build_request(method, url, **kwargs)

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = self.inner.send(request, **kwargs)
        self.sent.append((request, response))
        return response

    def take(self) -> list[Exchange]:
        """The exchanges since the last call; es has read each answer by then."""
        exchanges = [_exchange(request, response) for request, response in self.sent]
        self.sent.clear()
        return exchanges

    def close(self) -> None:
        self.inner.close()


def _exchange(request: Any, response: Any) -> Exchange:
    try:
        body = bytes(response.content)
    except Exception:  # a streamed answer that es consumed chunk by chunk keeps no content
        body = b""
    return Exchange(
        method=request.method,
        url=str(request.url),
        request_headers=tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
        ),
        request_body=bytes(request.content),
        status=response.status_code,
        response_headers=tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
        ),
        response_body=body,
    )
