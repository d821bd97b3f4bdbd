"""Per-app service objects, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from neo4j import Driver

from api.services.ddi_predictions import shared_predictions
from api.services.entities import EntityService
from api.services.errors import QueryTimeout
from api.services.graph_index import get_index
from api.services.interactions import InteractionService
from api.services.lookup import DrugLookup
from api.services.memory import keep_long_lived
from api.services.pair_store import get_store
from kg.adapters.resolvers import drug_resolver
from kg.errors import DatabaseUnavailable
from kg.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    lookup: DrugLookup
    interactions: InteractionService
    entities: EntityService
    database: str
    graph_key: str


def build_services(settings: Settings, driver: Driver) -> Services:
    """The drug resolver (DrugBank names, aliases; ~2 s, once per process and data dir) and the services."""
    lookup = DrugLookup(drug_resolver(settings.medkg_data_dir))
    db, key = settings.neo4j_database, settings.bolt_uri
    interactions = InteractionService(driver, db, key, lookup, settings.medkg_build_check_seconds,
                                      shared_predictions(settings.medkg_artifacts))
    return Services(lookup, interactions, EntityService(driver, db, lookup), db, key)


def warm(services: Services, driver: Driver) -> threading.Thread:
    """Build the fuzzy name index, the coverage cache and the interaction store in the background."""

    def work() -> None:
        services.lookup.suggest("warm up", 1)
        if services.interactions.predictions is not None:
            services.interactions.predictions.runtime()  # the ddi model's tables (numpy, ~1 s)
        try:
            get_index(driver, services.database, services.graph_key)
            build = services.interactions.builds.current()
            if build.complete and build.build_id is not None:
                get_store(driver, services.database, build.build_id)
        except (DatabaseUnavailable, QueryTimeout, IndexError) as exc:  # Neo4j down or empty (no Build row):
            log.info("coverage cache or interaction store not warmed: %s", exc)  # the first request loads it
        except Exception:  # the thread's outermost boundary: a bug, logged; requests load what they need
            log.exception("warm-up: unexpected error")
        keep_long_lived()  # the vocabularies and caches live as long as the process

    thread = threading.Thread(target=work, name="medkg-warm", daemon=True)
    thread.start()
    return thread
