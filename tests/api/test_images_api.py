"""Chest X-rays through the API on the real graph: upload (PNG, JPEG, array) -> Image node with embedding,
HAS_IMAGE, SHOWS pneumonia when positive; similar cases; bad input is 422 with nothing written; audit; delete."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gnn.images.data import load_parts
from kg.db import read, write
from kg.settings import Settings

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gnn.images.family import ImagesConfig, ImagesFamily

    out = tmp_path_factory.mktemp("images-api")
    ImagesFamily().train(ImagesConfig(artifacts=out, epochs=1, limit=300, threads=1, seed=1), progress=False)
    return out


@pytest.fixture(scope="module")
def client(built_graph, settings: Settings, api_keys: dict[str, str], artifacts: Path) -> Iterator[TestClient]:
    s = settings.model_copy(update={"medkg_artifacts": artifacts, "medkg_rate_limit": 1e6,
                                    "medkg_rate_burst": 1_000_000})
    with TestClient(create_app(s), headers={"X-API-Key": api_keys["clinician"]}) as c:
        yield c


@pytest.fixture
def patient(driver) -> Iterator[str]:
    pid = "P-" + secrets.token_hex(8)
    write(driver, "CREATE (:Patient {id: $id, origin: 'api', age_band: '30-39', sex: 'F'})", id=pid)
    yield pid
    write(driver, "MATCH (p:Patient {id: $id}) OPTIONAL MATCH (p)-[:HAS_IMAGE]->(i:Image) DETACH DELETE p, i", id=pid)


@pytest.fixture(scope="module")
def xrays() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_parts()["val"]
    return x[:8], y[:8]


def _png(arr: np.ndarray, mode: str = "L", size: tuple[int, int] | None = None, fmt: str = "PNG") -> bytes:
    from PIL import Image

    im = Image.fromarray(arr).convert(mode)
    if size:
        im = im.resize(size)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _images_of(driver, pid: str) -> list[dict]:
    return read(driver, "MATCH (:Patient {id: $id})-[:HAS_IMAGE]->(i:Image) "
                "RETURN i.id AS id, size(i.embedding) AS dim, i.model_run AS run, i.pixels AS pixels, "
                "i.decision AS decision, [(i)-[:SHOWS]->(d:Disease) | d.id] AS shows ORDER BY id", id=pid)


def test_upload_scores_attaches_and_finds_similar_then_delete_removes(client: TestClient, driver, patient: str,
                                                                      xrays) -> None:
    from gnn.images.upload import decode_upload

    x, _ = xrays
    svc = client.app.state.images
    # a low expected share of normal images shifts probabilities up, so that some uploads are positive
    svc.settings = svc.settings.model_copy(update={"medkg_image_normal_share": 0.05})
    svc._encoder = None
    png = _png(x[0], "RGB", size=(300, 200))
    resp = client.post(f"/patients/{patient}/images", content=png, headers={"Content-Type": "image/png"})
    assert resp.status_code == 201, resp.text
    out = resp.json()
    expected = svc.encoder().predict_proba(decode_upload(png, "image/png", 10**7, 10**8).pixels[None])[0]
    assert out["probability"] == pytest.approx(expected, rel=1e-6)
    assert out["decision"] == ("pneumonia" if expected >= out["threshold"] else "normal")
    assert out["normal_share"] == 0.05 and out["prediction"] is True and out["pixels_stored"] is False
    assert out["source"] == {"format": "PNG", "width": 300, "height": 200, "mode": "RGB"}
    ids = [out["image_id"]]
    for i in range(1, 8):
        body = json.dumps({"pixels": x[i].tolist()}) if i % 2 else _png(x[i], fmt="JPEG")
        ctype = "application/json" if i % 2 else "image/jpeg"
        r = client.post(f"/patients/{patient}/images", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 201, r.text
        ids.append(r.json()["image_id"])
    dup = client.post(f"/patients/{patient}/images", content=json.dumps({"pixels": x[3].tolist()}),
                      headers={"Content-Type": "application/json"}).json()

    stored = _images_of(driver, patient)
    assert sorted(s["id"] for s in stored) == sorted([*ids, dup["image_id"]])
    assert all(s["dim"] == 128 and s["run"] == out["model_run"] and s["pixels"] is None for s in stored)
    positives = [s for s in stored if s["decision"] == "pneumonia"]
    assert positives, "with 5 % normal expected, some uploads are called pneumonia"
    assert all(s["shows"] == (["DOID:552"] if s["decision"] == "pneumonia" else []) for s in stored)

    sim = client.get(f"/images/{dup['image_id']}/similar", params={"k": 3})
    assert sim.status_code == 200, sim.text
    near = sim.json()["neighbours"]
    assert len(near) == 3 and dup["image_id"] not in [n["image_id"] for n in near]
    assert near[0]["image_id"] == ids[3] and near[0]["score"] == pytest.approx(1.0, abs=1e-4)  # same pixels
    assert near[0]["patient_id"] == patient
    assert [n["score"] for n in near] == sorted((n["score"] for n in near), reverse=True)
    shown = {n["image_id"]: n for n in near}
    for s in stored:
        if s["id"] in shown:
            assert [f["id"] for f in shown[s["id"]]["findings"]] == s["shows"]

    actions = [(e["action"], e.get("outcome")) for e in client.app.state.audit.entries(patient)]
    assert actions.count(("patient.image.add", "ok")) == 9 and ("image.similar", "ok") in actions
    assert not any("pixels" in e for e in client.app.state.audit.entries(patient))

    deleted = client.delete(f"/patients/{patient}")
    assert deleted.status_code == 200 and deleted.json()["images"] == 9
    left = read(driver, "MATCH (i:Image) WHERE i.id IN $ids RETURN count(i) AS n", ids=[*ids, dup["image_id"]])
    assert left[0]["n"] == 0
    assert read(driver, "MATCH (d:Disease {id: 'DOID:552'}) RETURN count(d) AS n")[0]["n"] == 1
    svc.settings = svc.settings.model_copy(update={"medkg_image_normal_share": 0.37})
    svc._encoder = None


@pytest.mark.parametrize(("body", "ctype", "message"), [
    (b"", "image/png", "body: empty upload"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "image/png", "body: corrupt PNG file"),
    (b"GIF89a" + b"\0" * 40, "image/png", "not a PNG or JPEG"),
    (b"hello", "text/plain", "content-type: 'text/plain' is not accepted"),
    (json.dumps({"pixels": [[0] * 28] * 27}).encode(), "application/json",
     "expected a 28×28 array, got shape (27, 28)"),
    (json.dumps({"pixels": [[300] * 28] * 28}).encode(), "application/json", "range [300, 300]"),
    (json.dumps({"image": []}).encode(), "application/json", 'expected a JSON object {"pixels"'),
    (b"{not json", "application/json", "body: not valid JSON"),
])
def test_bad_upload_is_422_naming_the_problem_and_writes_nothing(client: TestClient, driver, patient: str,
                                                                 body: bytes, ctype: str, message: str) -> None:
    resp = client.post(f"/patients/{patient}/images", content=body, headers={"Content-Type": ctype})
    assert resp.status_code == 422, resp.text
    assert message in resp.json()["detail"][0]["msg"]
    assert _images_of(driver, patient) == []
    assert client.app.state.audit.entries(patient)[-1]["outcome"] == "invalid"


def test_too_large_unknown_patient_pixels_setting_and_roles(client: TestClient, driver, patient: str, xrays,
                                                            api_keys: dict[str, str]) -> None:
    x, _ = xrays
    svc = client.app.state.images
    base = svc.settings
    png = _png(x[0], size=(200, 200))
    try:
        svc.settings = base.model_copy(update={"medkg_image_max_bytes": len(png) - 1})
        r = client.post(f"/patients/{patient}/images", content=png, headers={"Content-Type": "image/png"})
        assert r.status_code == 422 and f"upload too large: {len(png):,} bytes" in r.text
        svc.settings = base.model_copy(update={"medkg_image_max_pixels": 199 * 200})
        r = client.post(f"/patients/{patient}/images", content=png, headers={"Content-Type": "image/png"})
        assert r.status_code == 422 and "image too large: 200×200 pixels" in r.text
        assert _images_of(driver, patient) == []

        svc.settings = base.model_copy(update={"medkg_image_store_pixels": True})
        r = client.post(f"/patients/{patient}/images", content=json.dumps({"pixels": x[1].tolist()}),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 201 and r.json()["pixels_stored"] is True
        assert _images_of(driver, patient)[0]["pixels"] == x[1].reshape(-1).tolist()
    finally:
        svc.settings = base

    missing = "P-" + "0" * 16
    r = client.post(f"/patients/{missing}/images", content=png, headers={"Content-Type": "image/png"})
    assert r.status_code == 404 and missing in r.text
    assert read(driver, "MATCH (p:Patient {id: $id}) RETURN count(p) AS n", id=missing)[0]["n"] == 0
    assert client.get("/images/IMG-0000000000000000/similar").status_code == 404

    for role, code in (("researcher", 403), ("admin", 201)):
        r = client.post(f"/patients/{patient}/images", content=png,
                        headers={"Content-Type": "image/png", "X-API-Key": api_keys[role]})
        assert r.status_code == code, (role, r.text)
