from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mockserver.onewrite import JoinedWrites
from tests.conftest import auth


class Recorder:
    """A transport that records each write it is given."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def write_eof(self) -> None:
        self.writes.append(b"<EOF>")

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return f"info {name}"


def test_the_writes_of_one_turn_of_the_loop_reach_the_socket_as_one() -> None:
    async def answer() -> list[bytes]:
        real = Recorder()
        joined = JoinedWrites(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.write(memoryview(b"body"))
        assert real.writes == [] and joined.get_write_buffer_size() == 23
        await asyncio.sleep(0)
        joined.write(b"next")
        await asyncio.sleep(0)
        return real.writes

    assert asyncio.run(answer()) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


def test_closing_writes_what_is_pending_first() -> None:
    async def close() -> tuple[list[bytes], bool, str]:
        real = Recorder()
        joined = JoinedWrites(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"last words")
        joined.close()
        await asyncio.sleep(0)
        return real.writes, real.closed, joined.get_extra_info("peername")

    assert asyncio.run(close()) == ([b"last words"], True, "info peername")


def test_a_server_writing_once_answers_as_before(live_server: Any) -> None:
    with httpx.Client(base_url=live_server.url, headers=auth("admin")) as client:
        for _ in range(3):  # one keep-alive connection, answer after answer
            response = client.get("/api/task/log/stats/")
            assert response.status_code == 200
            assert set(response.json()) >= {"pending", "succeeded", "failed", "revoked"}


def test_the_end_of_the_stream_follows_what_was_written_before_it() -> None:
    """A refusal (431, 408) writes its answer and then the end of the stream, for a lingering
    close: the answer must not be left pending behind the EOF (the client then saw the
    connection end with no answer)."""

    async def refuse() -> list[bytes]:
        real = Recorder()
        joined = JoinedWrites(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
        joined.write_eof()
        await asyncio.sleep(0)
        return real.writes

    assert asyncio.run(refuse()) == [
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n",
        b"<EOF>",
    ]
