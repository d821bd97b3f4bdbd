"""The Neo4j driver: created and closed by its owner (CLI command or API lifespan), passed to the rest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from neo4j import Driver, GraphDatabase, RoutingControl
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from kg.errors import DatabaseUnavailable
from kg.settings import Settings, get_settings


def make_driver(settings: Settings | None = None) -> Driver:
    s = settings or get_settings()
    return GraphDatabase.driver(
        s.bolt_uri,
        auth=(s.neo4j_user, s.password()),
        connection_acquisition_timeout=5.0,
        connection_timeout=3.0,
        max_transaction_retry_time=2.0,
        notifications_min_severity="OFF",
    )


@contextmanager
def open_driver(settings: Settings | None = None) -> Iterator[Driver]:
    """A driver for one command, closed when the block ends (a driver, not a session: sessions come from it)."""
    driver = make_driver(settings)
    try:
        yield driver
    finally:
        driver.close()


driver_session = open_driver  # old, misleading name; kept only for gnn/text/cli.py until it moves to open_driver


@runtime_checkable
class QueryRunner(Protocol):
    """Something that runs queries itself with its own database, timeout and error mapping (the API's gateway,
    api/services/db.py): `read`/`write` below hand it the query instead of using a driver directly."""

    def run_read(self, query: str, params: dict[str, Any]) -> list[dict]: ...

    def run_write(self, query: str, params: dict[str, Any]) -> list[dict]: ...


def read(driver: Driver | QueryRunner, query: str, database: str | None = None, **params: Any) -> list[dict]:
    """Run a read query and return its rows as dicts; a dead server raises DatabaseUnavailable. Given a
    QueryRunner, the query runs there (its database, its timeout)."""
    if isinstance(driver, QueryRunner):
        return driver.run_read(query, params)
    try:
        records, _, _ = driver.execute_query(
            query, params, database_=database or get_settings().neo4j_database, routing_=RoutingControl.READ
        )
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    return [r.data() for r in records]


def write(driver: Driver | QueryRunner, query: str, database: str | None = None, **params: Any) -> list[dict]:
    """Run a write query and return its rows as dicts (given a QueryRunner, the query runs there)."""
    if isinstance(driver, QueryRunner):
        return driver.run_write(query, params)
    try:
        records, _, _ = driver.execute_query(
            query, params, database_=database or get_settings().neo4j_database, routing_=RoutingControl.WRITE
        )
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    return [r.data() for r in records]
