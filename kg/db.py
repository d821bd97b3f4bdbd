"""The Neo4j driver: created and closed by its owner (CLI command or API lifespan), passed to the rest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from neo4j.exceptions import ServiceUnavailable, SessionExpired

from kg.errors import DatabaseUnavailable
from kg.settings import Settings, get_settings
from neo4j import Driver, GraphDatabase, RoutingControl


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
def driver_session(settings: Settings | None = None) -> Iterator[Driver]:
    driver = make_driver(settings)
    try:
        yield driver
    finally:
        driver.close()


def read(driver: Driver, query: str, database: str | None = None, **params: Any) -> list[dict]:
    """Run a read query and return its rows as dicts; a dead server raises DatabaseUnavailable."""
    try:
        records, _, _ = driver.execute_query(
            query, params, database_=database or get_settings().neo4j_database, routing_=RoutingControl.READ
        )
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    return [r.data() for r in records]


def write(driver: Driver, query: str, database: str | None = None, **params: Any) -> list[dict]:
    try:
        records, _, _ = driver.execute_query(
            query, params, database_=database or get_settings().neo4j_database, routing_=RoutingControl.WRITE
        )
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(f"Neo4j is unreachable: {exc}") from exc
    return [r.data() for r in records]
