"""Access control: API keys (stored hashed) with roles, per-key rate limits, body-size limit, audit log.

Roles: `admin` (build, train, write; everything), `clinician` (patients, diagnosis, recommendations
for a patient, plus the graph), `researcher` (graph, interactions, Cypher; patient data only
de-identified or aggregated). Every route declares the roles it admits with `Depends(require(...))`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.security import APIKeyHeader

from kg.errors import ConfigError, MedKGError
from kg.settings import Settings

API_KEY_HEADER = "X-API-Key"
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="MedKG API key")


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"
    researcher = "researcher"


@dataclass
class ApiKey:
    id: str
    name: str
    role: str
    hash: str
    created: str
    revoked: bool = False

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "created": self.created,
                "revoked": self.revoked}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """API keys in a JSON file (mode 0600); only SHA-256 hashes of the secrets are stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, ApiKey]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        return cls(settings.medkg_api_keys or settings.medkg_home / "api-keys.json")

    def _load(self) -> dict[str, ApiKey]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        try:
            raw = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"API key file {self.path} is corrupt (line {exc.lineno}): {exc.msg}") from exc
        keys = {k["id"]: ApiKey(**k) for k in raw}
        self._cache = (mtime, keys)
        return keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump([asdict(k) for k in keys.values()], fh, indent=1)
        os.replace(tmp, self.path)  # atomic: a crash never leaves a half-written key file
        self._cache = None

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """A new key; the secret is returned once and never stored."""
        if role not in Role.__members__:
            raise ConfigError(f"unknown role {role!r}; choose one of {', '.join(Role.__members__)}")
        with self._lock:
            keys = self._load().copy()
            key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(24)
            key = ApiKey(id=key_id, name=name, role=role, hash=_hash(secret),
                         created=datetime.now(UTC).isoformat(timespec="seconds"))
            keys[key_id] = key
            self._save(keys)
        return key, f"mk_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda k: k.created)

    def revoke(self, key_id: str) -> bool:
        with self._lock:
            keys = self._load().copy()
            if key_id not in keys:
                return False
            keys[key_id].revoked = True
            self._save(keys)
        return True

    def verify(self, presented: str) -> ApiKey | None:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "mk":
            return None
        key = self._load().get(parts[1])
        if key is None or key.revoked:
            return None
        return key if hmac.compare_digest(key.hash, _hash(parts[2])) else None


class RateLimiter:
    """A token bucket per key: `rate` requests a second, bursts of `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False, (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            return True, 0.0


class AuditLog:
    """Append-only JSON lines: who read or wrote which patient's data, what, when."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, key: ApiKey | None, action: str, patient_id: str | None, **extra: object) -> None:
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                 "key_id": key.id if key else None, "key_name": key.name if key else None,
                 "role": key.role if key else None, "action": action, "patient": patient_id, **extra}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def entries(self, patient_id: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [r for r in rows if patient_id is None or r.get("patient") == patient_id]


class RoleRequirement:
    """A FastAPI dependency admitting the given roles (admin always); `roles` is read by the route audit test."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset({Role.admin, *roles})

    async def presented(self, request: Request) -> str | None:
        return await _header(request)

    async def __call__(self, request: Request) -> ApiKey:
        presented = await self.presented(request)
        if not presented:
            raise HTTPException(status_code=401, detail=f"missing API key: send it in the {API_KEY_HEADER} header",
                                headers={"WWW-Authenticate": API_KEY_HEADER})
        store: KeyStore = request.app.state.keys
        key = store.verify(presented)
        if key is None:
            raise HTTPException(status_code=401, detail="invalid or revoked API key",
                                headers={"WWW-Authenticate": API_KEY_HEADER})
        if key.role not in self.roles:
            raise HTTPException(status_code=403, detail=f"role {key.role!r} may not use this endpoint; "
                                f"it needs one of {', '.join(sorted(self.roles))}")
        allowed, retry = request.app.state.rate_limiter.allow(key.id)
        if not allowed:
            raise HTTPException(status_code=429, detail="rate limit exceeded for this API key",
                                headers={"Retry-After": str(max(1, round(retry)))})
        request.state.api_key = key
        return key


class BearerOrKeyRequirement(RoleRequirement):
    """As RoleRequirement, also taking the key from `Authorization: Bearer <MedKG API key>` (CDS Hooks clients
    send their credential as a bearer token; see docs/cds-hooks.md). X-API-Key wins when both are sent."""

    async def presented(self, request: Request) -> str | None:
        key = await _header(request)
        if key:
            return key
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require(*roles: Role) -> RoleRequirement:
    return RoleRequirement(*roles)


ANY_ROLE = require(Role.clinician, Role.researcher)
CLINICAL = require(Role.clinician)
ADMIN = require()
CDS_CLINICAL = BearerOrKeyRequirement(Role.clinician)
CDS_ANY_ROLE = BearerOrKeyRequirement(Role.clinician, Role.researcher)


IMAGE_UPLOAD = re.compile(r"^/patients/[^/]+/images$")


class BodySizeLimit:
    """ASGI middleware: requests whose body exceeds `max_bytes` (or the limit of a path in `larger`) get 413
    before the route runs."""

    def __init__(self, app, max_bytes: int, larger: dict[re.Pattern[str], int] | None = None) -> None:
        self.app, self.default_max, self.larger = app, max_bytes, dict(larger or {})

    def _limit(self, path: str) -> int:
        return next((n for pattern, n in self.larger.items() if pattern.match(path)), self.default_max)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self._limit(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            return await self._reject(send, max_bytes)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _TooLarge
            return message

        try:
            return await self.app(scope, limited_receive, send)
        except _TooLarge:
            return await self._reject(send, max_bytes)

    async def _reject(self, send, max_bytes: int) -> None:
        body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(MedKGError):
    """Control flow inside BodySizeLimit: the body passed the limit (answered 413, never seen outside)."""
