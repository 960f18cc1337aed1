"""``es``: one run from the command line to the exit code.

:func:`run` is the whole program with its outside world passed in (the HTTP client, the
environment, stdout and stderr), so the docs build can run ``es`` in-process against the
reference server; :func:`main` is the console script, which calls it with ``sys.argv``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import httpx

from esdc_api.es import client as http
from esdc_api.es.command import Command, parse_command, wants_help
from esdc_api.es.config import CONNECT_TIMEOUT, DEFAULT_API_URL, Config
from esdc_api.es.errors import EsError, ExitCode, LoginFailed
from esdc_api.es.output import FORMATS, TABLE_STYLES
from esdc_api.es.tokens import TokenStore

USAGE = f"""\
es - Swiss Army Knife for the Danube Cloud API (behaves as Danube Cloud's es {http.ES_VERSION})

Usage: es [-d] action [/resource] [-name value ...] [--output-format]

 action:         get | create (or post) | set (or put) | delete | help | login | logout,
                 in any case (GET is get)
 resource:       /some/resource/in/api (es adds the trailing /)
 parameters:     -foo baz -bar qux ...
 output format:  --json (default), --csv, --tabulate,
                 --tabulate-<fmt> with <fmt> one of {", ".join(TABLE_STYLES)}
 -d, --debug     first argument only: add command, headers and request.headers to --json

Parameters
 -name value     a string (numbers too: -last 3600 sends "3600"; json::3600 sends a number)
 -name           alone means true
 true false null any case: JSON true, false and null
 json::TEXT      TEXT parsed as JSON:  -ids 'json::["a", "b"]'
 file::PATH      the text of the file at PATH
 -api-key KEY    sent as the ES-API-KEY header, not as a parameter (else ES_API_KEY)
 get and logout send the parameters in the query string (true/false as True/False,
 null left out); the other actions send them as a JSON body.

Quirks kept from the original es
 - a value with no -name before it is not sent (es says so on stderr): in
   -status FAILURE SUCCESS only FAILURE is sent
 - a value that starts with - and a letter or digit starts a new parameter: -last -1 sends
   last=true and 1=true; write -last json::-1 for a number, -x 'json::"-1"' for a string
 - the trailing / goes at the very end, after a ?query written in the resource:
   es get /task/log?page=2 asks for /task/log?page=2/, which the API redirects (301) to
   /task/log/?page=2/, an invalid page; write es get /task/log -page 2
 - any argument that starts with -- picks the output format, wherever it stands; so
   --help prints this text only as the first argument, and after it exits 13
 - help prints only the description the API answers to OPTIONS
 - --csv and --tabulate show the "result" (or "results") of a 2xx answer, CSV split by ;
 - redirects are not followed: a 301 is printed as it is

 es login -username USER -password PASS   stores the token; later calls send it
 es logout                                ends the session and forgets the token

Environment
 ES_API_URL      the API's base URL (default {DEFAULT_API_URL})
 ES_API_KEY      an API key, sent as the ES-API-KEY header
 ES_TOKEN_STORE  the login token file, mode 0600
                 (default $XDG_STATE_HOME/esdc/es-token, else ~/.local/state/esdc/es-token;
                 the original keeps it in <tempdir>/esdc.session, shared by all users)
 ES_SSL_VERIFY   0 (default, as the original) does not check the server's certificate,
                 so a self-signed one works, and prints no warning; 1 checks it
 ES_TIMEOUT      seconds to wait for the server (default {CONNECT_TIMEOUT:g} to connect, then no
                 limit: a task stream may last an hour)

Exit codes
 0 status below 400, 1 status 4xx, 2 status 5xx, 3 no answer, 4 login without a token,
 5 Ctrl-C, 8 output not encodable, 9 output failed, 11 usage, 12 missing resource,
 13 unknown output format
"""


def run(
    argv: Sequence[str],
    *,
    client: http.HTTPClient[Any] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``es`` once and return its exit code; nothing is raised, errors are printed.

    :param argv: the command line as in ``sys.argv``, program name first:
        ``shlex.split("es get /task")``.
    :param client: the HTTP client to use: an ``httpx.Client``, or an ``httpx2.Client`` such
        as ``starlette.testclient.TestClient(app, base_url="http://127.0.0.1:8000")``; by
        default es opens an ``httpx.Client`` configured by ``ES_SSL_VERIFY`` and
        ``ES_TIMEOUT``. A given client keeps its own TLS settings and, unless ``ES_TIMEOUT`` is
        set, its own timeout. es requests absolute URLs under ``ES_API_URL``.
    :param env: the environment to read the ``ES_*`` settings from (default ``os.environ``).
    :param stdout: where the answer is printed (default ``sys.stdout``).
    :param stderr: where messages go (default ``sys.stderr``).
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    args = list(argv[1:])
    if wants_help(args):
        out.write(USAGE)
        return ExitCode.OK
    if not args:
        err.write(USAGE)
        return ExitCode.USAGE
    try:
        command = parse_command(args)
        config = Config.from_env(os.environ if env is None else env)
        return _execute(command, config, client, out, err)
    except EsError as exc:
        err.write(f"ERROR: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("ERROR: interrupted by Ctrl-C; a task may still run: see es get /task\n")
        return ExitCode.INTERRUPTED


def _execute(
    command: Command,
    config: Config,
    client: http.HTTPClient[Any] | None,
    out: TextIO,
    err: TextIO,
) -> int:
    for word in command.ignored:
        err.write(f"es: ignoring {word!r}: a value needs a -name before it, as in -name value\n")
    store = TokenStore(config.token_store)
    # A login must not send an old token: the API would answer for that session.
    token = None if command.action == "login" else store.read()
    if client is None:
        timeout = httpx.Timeout(config.timeout, connect=config.timeout or CONNECT_TIMEOUT)
        with httpx.Client(verify=config.verify, timeout=timeout) as own_client:
            reply = _exchange(command, config, token, own_client, err)
    else:
        reply = _exchange(command, config, token, client, err)

    failure: EsError | None = None
    if command.action == "login":
        failure = _keep_token(reply, store)
    elif command.action == "logout" and reply.status == 200:
        store.remove()

    exit_code = _print(command, reply, out, err)
    if not reply.is_json and reply.text:
        err.write(f"es: the answer ({reply.status}) is not JSON; it is shown as a string\n")
    if failure is not None:
        err.write(f"ERROR: {failure}\n")
        return failure.exit_code
    return exit_code


def _exchange(
    command: Command,
    config: Config,
    token: str | None,
    client: http.HTTPClient[Any],
    err: TextIO,
) -> http.Reply:
    def on_wait(text: str) -> None:
        err.write(text)
        err.flush()

    request = http.build_request(
        client,
        command.method,
        config.api_url + command.path,
        command.params,
        in_query=command.in_query,
        headers=http.request_headers(token, command.api_key or config.api_key),
        timeout=config.timeout,
    )
    return http.send(client, request, on_wait=on_wait)


def _keep_token(reply: http.Reply, store: TokenStore) -> LoginFailed | None:
    token = reply.text.get("token") if isinstance(reply.text, dict) else None
    if not token:
        return LoginFailed(
            f"login failed: the answer ({reply.status}) has no token; check -username and -password"
        )
    try:
        store.write(str(token))
    except OSError as exc:
        return LoginFailed(
            f"cannot store the login token in {str(store.path)!r} ({exc.strerror or exc}); "
            "set ES_TOKEN_STORE to a file you can write"
        )
    return None


def _print(command: Command, reply: http.Reply, out: TextIO, err: TextIO) -> int:
    debug: dict[str, Any] = {}
    if command.debug:
        debug = {
            "command": " ".join(command.words),
            "headers": reply.headers,
            "request.headers": reply.request_headers,
        }
    try:
        out.write(FORMATS[command.output_format](reply, debug))
        out.flush()
    except UnicodeEncodeError as exc:
        err.write(f"ERROR: cannot print the answer ({exc}); try PYTHONIOENCODING=UTF-8\n")
        return ExitCode.OUTPUT_ENCODING
    except Exception as exc:  # as the original: any failure to print exits 9
        err.write(f"ERROR: cannot print the answer ({type(exc).__name__}: {exc})\n")
        return ExitCode.OUTPUT_FAILED
    return ExitCode.for_status(reply.status)


def main() -> None:
    """Entry point of the ``es`` console script."""
    sys.exit(run(sys.argv))
