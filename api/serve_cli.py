"""`medkg serve`: run the API with uvicorn (loopback by default), in one or several worker processes."""

from __future__ import annotations

import argparse
import socket


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """The same listening socket with its protocol read back from the kernel (TCP).

    uvicorn binds worker sockets with proto 0; asyncio sets TCP_NODELAY only on accepted sockets whose proto is
    IPPROTO_TCP, so each keep-alive response (headers and body are two writes) stalled ~40 ms on Nagle's
    algorithm against the client's delayed ACK.
    """
    return socket.socket(fileno=sock.detach())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from api.app import create_app

    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    access_log = not args.no_access_log
    if args.workers == 1:
        uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level, access_log=access_log)
        return 0
    # each worker process builds its own app (driver, caches) from the same environment
    config = uvicorn.Config("api.app:create_app", factory=True, host=args.host, port=args.port,
                            workers=args.workers, log_level=args.log_level, access_log=access_log)
    Multiprocess(config, sockets=[_tcp_socket(config.bind_socket())]).run()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP API", description="Run the MedKG FastAPI service.")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1; on 2 cores, 2 roughly double throughput; each worker holds "
                        "its own ~140 MB interaction store)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.set_defaults(func=cmd_serve)
