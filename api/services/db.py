"""The one gateway from the API to Neo4j: read and write transactions, timeouts and error mapping.

Nothing else in `api/` touches the driver (tests/api/test_gateway.py checks it). `Gateway` binds the driver to the
database of the settings given to `create_app`; the model code in `gnn/` that reads through `kg.db.read/write`
receives the gateway in place of a driver, so its queries get the same database, timeout and error mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from neo4j import Driver, ManagedTransaction, Query, Record, RoutingControl
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConnectionAcquisitionTimeoutError,
    ServiceUnavailable,
    SessionExpired,
)
from neo4j.exceptions import DatabaseUnavailable as Neo4jDatabaseUnavailable
from neo4j.graph import Node, Path, Relationship

from api.services.errors import QueryFailed, QueryTimeout
from kg.errors import DatabaseUnavailable

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0  # seconds; every API query carries a transaction timeout
_UNREACHABLE = (ServiceUnavailable, SessionExpired, ConnectionAcquisitionTimeoutError, Neo4jDatabaseUnavailable,
                OSError)


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
    except AuthError as exc:  # a configuration problem, not a bug: the database is unusable to the API (503)
        raise DatabaseUnavailable(f"Neo4j refused the API's credentials: {exc.message or exc}") from exc
    except ClientError as exc:
        if exc.code == "Neo.ClientError.Database.DatabaseNotFound":  # the app's settings name a missing database
            raise DatabaseUnavailable(f"Neo4j has no database of that name: {exc.message or exc}") from exc
        mapped = _map_client_error(exc, caller_query)
        if mapped is exc:
            raise
        raise mapped from exc


_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})


def _no_graph_values(value: Any) -> bool:
    """True when `value` holds no Node, Relationship or Path (exact-type checks first: they are the common case)."""
    kind = type(value)
    if kind in _ATOMIC:
        return True
    if kind is list:
        return all(map(_no_graph_values, value))
    if kind is dict:
        return all(map(_no_graph_values, value.values()))
    return not isinstance(value, Node | Relationship | Path)


def record_dict(record: Record) -> dict[str, Any]:
    """`record.data()`, without its per-value conversion walk when no value is a graph entity (~4x faster on
    500 rows of property maps); temporal and spatial values stay as they are, as `data()` leaves them."""
    if all(map(_no_graph_values, record.values())):
        return dict(record)
    return record.data()


def run_read(driver: Driver, database: str, text: str, params: dict[str, Any] | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Run one read query (routing READ, with a timeout) and return rows as dicts."""
    return [record_dict(r) for r in run_read_records(driver, database, text, params, timeout)]


def run_read_records(driver: Driver, database: str, text: str, params: dict[str, Any] | None = None,
                     timeout: float = DEFAULT_TIMEOUT) -> list[Record]:
    """Like run_read, but the driver's records (graph values stay Node/Relationship/Path)."""
    with _mapped_errors(caller_query=False):
        records, _, _ = driver.execute_query(Query(text, timeout=timeout), params or {}, database_=database,
                                             routing_=RoutingControl.READ)
    return records


def write_tx(driver: Driver, database: str, work: Callable[[ManagedTransaction], T]) -> T:
    """Run `work` in a managed WRITE transaction; errors raised by `work` itself (e.g. InvalidInput) pass through."""
    with _mapped_errors(caller_query=False), driver.session(database=database) as session:
        return session.execute_write(work)


def run_write(driver: Driver, database: str, text: str, params: dict[str, Any] | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Run one write query (routing WRITE, with a timeout) and return rows as dicts."""
    with _mapped_errors(caller_query=False):
        records, _, _ = driver.execute_query(Query(text, timeout=timeout), params or {}, database_=database,
                                             routing_=RoutingControl.WRITE)
    return [r.data() for r in records]


def read_tx(driver: Driver, database: str, work: Callable[[ManagedTransaction], T], caller_query: bool = True) -> T:
    """Run `work` in a managed READ transaction (session.execute_read), e.g. to stream a large result; Neo4j's
    complaints about a caller's query become QueryFailed (422), about our own (`caller_query=False`) stay bugs."""
    with _mapped_errors(caller_query), driver.session(database=database, default_access_mode="READ") as session:
        return session.execute_read(work)


class Gateway:
    """One app's way to Neo4j: its driver, the database named by the app's settings, a timeout on every query.

    Also satisfies `kg.db.QueryRunner`, so `kg.db.read(gateway, ...)` in model code runs here."""

    def __init__(self, driver: Driver, database: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.driver, self.database, self.timeout = driver, database, timeout

    def read(self, text: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> list[dict]:
        return run_read(self.driver, self.database, text, params, timeout or self.timeout)

    def read_records(self, text: str, params: dict[str, Any] | None = None,
                     timeout: float | None = None) -> list[Record]:
        return run_read_records(self.driver, self.database, text, params, timeout or self.timeout)

    def write(self, text: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> list[dict]:
        return run_write(self.driver, self.database, text, params, timeout or self.timeout)

    def read_tx(self, work: Callable[[ManagedTransaction], T], caller_query: bool = True) -> T:
        return read_tx(self.driver, self.database, work, caller_query)

    def write_tx(self, work: Callable[[ManagedTransaction], T]) -> T:
        return write_tx(self.driver, self.database, work)

    # kg.db.QueryRunner: what kg.db.read/write call when handed the gateway instead of a driver
    def run_read(self, text: str, params: dict[str, Any]) -> list[dict]:
        return self.read(text, params)

    def run_write(self, text: str, params: dict[str, Any]) -> list[dict]:
        return self.write(text, params)

    def close(self) -> None:
        self.driver.close()
