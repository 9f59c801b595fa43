"""uvicorn's h11 protocol with the deadlines it lacks: a request head must be complete within `header_timeout`
seconds (counted from connecting, or from the first byte of a later request on a kept-alive connection), and a
request body may stall at most `body_timeout` seconds between bytes. Past either, the connection is closed (a
started head first gets `408 Request Timeout`). uvicorn itself brings the idle keep-alive timeout and the
connection cap (`limit_concurrency`, answered 503); `server_options(config)` sets all of them.

    uvicorn.run(app, **server_options(config))
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.config import ApiConfig

TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\n"
    b"connection: close\r\n\r\nthe request head took too long.\n"
)


class DeadlineH11Protocol(H11Protocol):
    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._arm(self.header_timeout, self._head_expired)

    def _arm(self, seconds: float, handler: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()  # type: ignore[union-attr]
            self._deadline = None

    def data_received(self, data: bytes) -> None:
        awaiting_head = self.conn.their_state is h11.IDLE
        if awaiting_head and self._deadline is None:  # first byte of a later request on a kept-alive connection
            self._head_bytes = 0
            self._arm(self.header_timeout, self._head_expired)
        if awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._arm(self.body_timeout, self._body_stalled)  # restarted by every chunk of the body
        elif state is not h11.IDLE:
            self._disarm()  # head (and body) complete: the app has the request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _head_expired(self) -> None:
        self._deadline = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if self._head_bytes and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(TIMEOUT_408)
        self._close()

    def _body_stalled(self) -> None:
        self._deadline = None
        if self.conn.their_state is not h11.SEND_BODY:
            return
        if self.flow.read_paused:  # we stopped reading (the app is behind), not the client: wait again
            self._arm(self.body_timeout, self._body_stalled)
            return
        self._close()  # the app's receive() then sees a disconnect


def server_options(config: ApiConfig) -> dict[str, Any]:
    """uvicorn.run()/Config keyword arguments for the deadlines and the connection cap of `config`."""
    protocol = type(
        "CiteqaH11Protocol",
        (DeadlineH11Protocol,),
        {"header_timeout": config.header_timeout, "body_timeout": config.body_timeout},
    )
    return {
        "http": protocol,
        "timeout_keep_alive": config.keep_alive_timeout,
        "limit_concurrency": config.max_connections,
    }
