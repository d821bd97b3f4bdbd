"""`medkg serve --workers N`: the shared listening socket is a TCP socket, so every accepted connection gets
TCP_NODELAY (without it each keep-alive response stalled ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from api.cli import main
from api.serve_cli import _tcp_socket


def test_worker_socket_connections_get_tcp_nodelay() -> None:
    config = uvicorn.Config("api.app:create_app", factory=True, host="127.0.0.1", port=0, workers=2)
    sock = _tcp_socket(config.bind_socket())
    assert sock.proto == socket.IPPROTO_TCP
    port = sock.getsockname()[1]

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) == 1


def test_zero_workers_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match=r"^--workers must be >= 1, got 0$"):
        main(["serve", "--workers", "0"])
