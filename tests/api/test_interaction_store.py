"""The in-memory interaction store: same answers as the Cypher path, used only for a complete build,
and a view of the newest build that is at most `ttl` seconds old."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic_core import to_json

from api.models.drugs import CheckResponse
from api.services.graph_index import BuildClock, BuildState
from api.services.interactions import InteractionService
from api.services.pair_store import get_store
from api.services.state import build_services
from kg.db import read
from kg.settings import Settings

pytestmark = pytest.mark.neo4j

LISTS = [
    ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone"],
    ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone", "metformin", "lisinopril",
     "omeprazole", "fluoxetine"],
    ["DB00682", "Acetylsalicylic acid", "aspirin", "warfrin", "xyzzy"],
    ["ibuprofen", "naproxen", "ketorolac", "prednisone"],
    ["warfarin", "simvastatn", "qqqzzzxx", "Isosorbide", "Yaz", "warfarn sodiumm tabs"],
    ["aspirin", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", "Tylenol"],
]
RUNNING = "99991231T000000-in-progress"  # sorts after every real build id: the newest Build


@pytest.fixture(scope="module")
def service(built_graph: object, settings: Settings, driver) -> InteractionService:
    # a view of the newest build that does not expire during the module: with the default 1 s, a busy machine
    # let it lapse between the warm-up and the checks, and check_in_memory rightly answered None (a timing
    # flake); expiry and re-reading are tested with their own clocks below
    services = build_services(settings.model_copy(update={"medkg_build_check_seconds": 3600.0}), driver)
    services.lookup.suggest("warm up", 1)  # what the app's warm-up thread does: matcher, coverage index, store
    services.interactions.index()
    build = services.interactions.builds.current()
    assert build.build_id is not None
    get_store(driver, settings.neo4j_database, build.build_id)
    if services.interactions.predictions is not None:
        services.interactions.predictions.runtime()  # the app loads the ddi model at start, in the background
    return services.interactions


@pytest.fixture
def build_in_progress(driver) -> Iterator[None]:
    read(driver, "RETURN 1 AS ok")
    with driver.session() as session:
        session.run("CREATE (:Build {id: $id, status: 'running'})", id=RUNNING).consume()
    try:
        yield
    finally:
        with driver.session() as session:
            session.run("MATCH (b:Build {id: $id}) DELETE b", id=RUNNING).consume()


def test_store_holds_every_interaction_fact(service: InteractionService, driver, settings: Settings) -> None:
    build = service.builds.current()
    assert build.complete and build.build_id
    store = get_store(driver, settings.neo4j_database, build.build_id)
    n = read(driver, "MATCH (:Drug)-[r:INTERACTS_WITH]->(:Drug) RETURN count(r) AS n")[0]["n"]
    assert store.facts == n > 250_000
    facts = store.pair_facts("DB00682", "DB00945")  # warfarin, acetylsalicylic acid
    assert {f["source"] for f in facts} == {"ddinter", "drugbank-ddi-86"}
    assert any(f["mechanism"] == "Acetylsalicylic acid may increase the anticoagulant activities of Warfarin."
               for f in facts), facts


def test_store_answers_equal_the_cypher_answers(service: InteractionService) -> None:
    """Byte for byte, on the first check of a list (pair answers computed) and on the next (served cached)."""
    for drugs in LISTS:
        first = service.check_in_memory_json(drugs)
        assert first is not None, "store, index and matcher are warm: the check needs no I/O"
        cypher = service._check_cypher(drugs)
        assert first == cypher == service.check_in_memory_json(drugs), drugs
        assert json.loads(first)["summary"]["pairs"] > 0


def test_cached_pair_answers_are_not_tracked_by_the_garbage_collector(service: InteractionService) -> None:
    """A full cache must add nothing to full-collection pauses (as dicts, 100k answers made pauses of ~170 ms)."""
    assert service.check_in_memory_json(LISTS[1]) is not None
    gc.collect()
    values = list(service._answers._data.values())
    assert len(values) >= 45
    assert not any(gc.is_tracked(v) for v in values)


def test_check_payload_is_exactly_its_validated_response_model(service: InteractionService) -> None:
    """The route serialises the service's dict as is; it must equal the CheckResponse-validated form."""
    for drugs in LISTS:
        payload = service.check(drugs)
        assert json.loads(to_json(payload)) == json.loads(CheckResponse.model_validate(payload).model_dump_json())


def test_clock_rereads_the_build_only_after_its_ttl(service: InteractionService, driver, settings: Settings,
                                                    build_in_progress: None) -> None:
    cached = BuildClock(driver, settings.neo4j_database, ttl=3600)
    fresh = BuildClock(driver, settings.neo4j_database, ttl=0)
    assert fresh.peek() is None
    assert fresh.current() == BuildState(RUNNING, complete=False)
    assert cached.current() == BuildState(RUNNING, complete=False)
    assert cached.peek() == BuildState(RUNNING, complete=False)


def test_refresher_reads_the_build_without_any_request(driver, settings: Settings, build_in_progress: None) -> None:
    clock = BuildClock(driver, settings.neo4j_database, ttl=0.4)
    stop = threading.Event()
    assert clock.start_refresher(stop) is not None
    try:
        deadline = time.monotonic() + 10
        while clock.peek() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert clock.peek() == BuildState(RUNNING, complete=False)
    finally:
        stop.set()
    assert BuildClock(driver, settings.neo4j_database, ttl=0).start_refresher(stop) is None


def test_a_build_in_progress_is_checked_in_cypher_not_from_the_store(service: InteractionService, driver,
                                                                    settings: Settings) -> None:
    before = service.check(LISTS[0])
    live = InteractionService(driver, settings.neo4j_database, settings.bolt_uri, service.lookup, 0.0)
    with driver.session() as session:
        session.run("CREATE (:Build {id: $id, status: 'running'})", id=RUNNING).consume()
    try:
        assert live.check_in_memory(LISTS[0]) is None  # the newest build is not complete: no store for it
        during = live.check(LISTS[0])
    finally:
        with driver.session() as session:
            session.run("MATCH (b:Build {id: $id}) DELETE b", id=RUNNING).consume()
    assert during == before
    assert live.builds.current().complete  # back to the complete build (whose store serves `check` again)
    assert live.check(LISTS[0]) == before
