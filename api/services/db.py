"""The one gateway from the API to Neo4j: read transactions, timeouts and error mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from neo4j.exceptions import (
    ClientError,
    ConnectionAcquisitionTimeoutError,
    ServiceUnavailable,
    SessionExpired,
)

from api.services.errors import QueryFailed, QueryTimeout
from kg.errors import DatabaseUnavailable
from neo4j import Driver, ManagedTransaction, Query, Record, RoutingControl

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0  # seconds; every API query carries a transaction timeout
_UNREACHABLE = (ServiceUnavailable, SessionExpired, ConnectionAcquisitionTimeoutError, OSError)


def _is_timeout(exc: ClientError) -> bool:
    code = exc.code or ""
    return "TransactionTimedOut" in code or "Transaction.Terminated" in code or "TransactionTimedOut" in str(exc)


def _map_client_error(exc: ClientError, caller_query: bool) -> Exception:
    """A timeout -> QueryTimeout; a caller's bad query -> QueryFailed; our own bad query stays a bug (500)."""
    if _is_timeout(exc):
        return QueryTimeout(f"query exceeded its time limit and was terminated ({exc.code})")
    if caller_query:
        return QueryFailed(exc.message or str(exc), exc.code)
    return exc


@contextmanager
def _mapped_errors(caller_query: bool) -> Iterator[None]:
    """Neo4j unreachable -> DatabaseUnavailable (503); client errors as `_map_client_error` says."""
    try:
        yield
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    except ClientError as exc:
        mapped = _map_client_error(exc, caller_query)
        if mapped is exc:
            raise
        raise mapped from exc


def run_read(driver: Driver, database: str, text: str, params: dict[str, Any] | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Run one read query (routing READ, with a timeout) and return rows as dicts."""
    return [r.data() for r in run_read_records(driver, database, text, params, timeout)]


def run_read_records(driver: Driver, database: str, text: str, params: dict[str, Any] | None = None,
                     timeout: float = DEFAULT_TIMEOUT) -> list[Record]:
    """Like run_read, but the driver's records (graph values stay Node/Relationship/Path)."""
    with _mapped_errors(caller_query=False):
        records, _, _ = driver.execute_query(Query(text, timeout=timeout), params or {}, database_=database,
                                             routing_=RoutingControl.READ)
    return records


def read_tx(driver: Driver, database: str, work: Callable[[ManagedTransaction], T], caller_query: bool = True) -> T:
    """Run `work` in a managed READ transaction (session.execute_read), e.g. to stream a large result; Neo4j's
    complaints about a caller's query become QueryFailed (422), about our own (`caller_query=False`) stay bugs."""
    with _mapped_errors(caller_query), driver.session(database=database, default_access_mode="READ") as session:
        return session.execute_read(work)
