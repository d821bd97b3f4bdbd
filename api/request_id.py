"""A request id on every request (the caller's `X-Request-ID` if it is sane, else a new one): kept on
`request.state.request_id`, echoed in the response header, and logged with any unhandled error."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # never echo arbitrary bytes into logs or headers


def request_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "-"))


class RequestId:
    """Pure ASGI (no BaseHTTPMiddleware: it would cost every interaction check a task switch)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == HEADER.encode()), "")
        rid = given if _SANE.match(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER.encode(), rid.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)
