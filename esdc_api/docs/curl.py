"""The curl command that sends the same request as an es example did."""

from __future__ import annotations

import shlex

from esdc_api.docs.examples import Exchange

#: Headers curl sets itself, or that only es needs, left out of the command.
#: ES-STREAM asks the API to stream task-creating calls in es's own format; a curl user
#: wants the plain 201 answer and polls, as the overview describes.
_LEFT_OUT = {"host", "accept-encoding", "connection", "user-agent", "content-length", "es-stream"}


def curl_command(exchange: Exchange) -> str:
    """``exchange``'s request as curl: the URL on the first line, then an option a line."""
    method = f" -X {exchange.method}" if exchange.method != "GET" or exchange.request_body else ""
    parts = [f"curl{method} {shlex.quote(exchange.url)}"]
    for name, value in exchange.request_headers:
        lowered = name.lower()
        if lowered in _LEFT_OUT or (lowered == "content-type" and not exchange.request_body):
            continue
        parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if exchange.request_body:
        parts.append(f"-d {shlex.quote(exchange.request_body.decode('utf-8', errors='replace'))}")
    return " \\\n    ".join(parts)
