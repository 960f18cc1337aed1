"""Headless Chromium for the tests: Debian's (``apt-get install -y chromium``), never a
downloaded one, driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), so
that a test can click, type and read the page without a driver or a websocket library."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's closed network refuses its calls
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    pytest.fail(
        "Chromium is not installed, and the browser tests need it: install it with "
        "`apt-get install -y chromium chromium-driver` (Debian) and run the tests again"
    )


class BrowserError(AssertionError):
    """Chromium answered a command with an error, or a page never got where a test waited."""


class Browser:
    """One headless Chromium and one page in it.

    The DevTools protocol goes over the two descriptors Chromium reads and writes with
    ``--remote-debugging-pipe`` (3 and 4), each message a JSON object ended by a NUL byte.
    """

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._log = (profile.parent / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [
                "bash",  # dash, Debian's sh, redirects only descriptors 0 to 9
                "-c",
                f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
                f"{to_browser_r}<&- {from_browser_w}>&-",
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # its helper processes in a group of their own
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.session: str | None = None

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self._messages.put(json.loads(message))

    def send(self, method: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Send a command (to the page, once one is open) and return its result."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        session = kwargs.get("session", self.session)
        if session is not None:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"Chromium did not answer {method} in 60 s")
            message = self._messages.get(timeout=left)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url}, session=None)["targetId"]
        attached = self.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=None
        )
        self.session = attached["sessionId"]
        self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
            f"{url} loaded",
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if it is a promise)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, seconds: float = 30) -> Any:
        """Wait until ``expression`` is truthy in the page (it updates by itself, every
        second) and return its value."""
        deadline = time.monotonic() + seconds
        failed: BrowserError | None = None
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError as exc:  # the page may not be there yet
                value, failed = None, exc
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"the page never showed {what} ({expression})") from failed
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """Click the element ``selector`` names with the mouse, at its middle, as a user."""
        where = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];"
            " })()"
        )
        if where is None:
            raise BrowserError(f"nothing on the page matches {selector}")
        x, y = where
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def close(self) -> None:
        try:
            self.send("Browser.close", session=None)
        except (BrowserError, OSError, queue.Empty):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this browser started
            self.process.wait(timeout=20)
        os.close(self._to_browser)
        self._reader.join(timeout=10)
        os.close(self._from_browser)
        self._log.close()
