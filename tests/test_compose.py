"""docker-compose.yml, Dockerfile and .env.example: checked statically (Docker does not run in CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _health_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_three_services_and_neo4j_image(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"neo4j", "prepare", "api"}
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    assert services["neo4j"]["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD")
    assert any(v.endswith(":/data") for v in services["neo4j"]["volumes"])


def test_every_published_port_is_loopback_only(compose: dict) -> None:
    published = [(name, p) for name, svc in compose["services"].items() for p in svc.get("ports", [])]
    assert {p for _, p in published} == {"127.0.0.1:7474:7474", "127.0.0.1:7687:7687", "127.0.0.1:8000:8000"}
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_healthchecks_run_a_real_query_and_request(compose: dict) -> None:
    neo4j = _health_command(compose["services"]["neo4j"])
    assert "cypher-shell" in neo4j and "RETURN 1" in neo4j and "-u neo4j" in neo4j
    api = _health_command(compose["services"]["api"])
    assert "http://127.0.0.1:8000/health" in api and "status == 200" in api


def test_prepare_is_one_shot_main_job_and_api_waits_for_it(compose: dict) -> None:
    prepare, api = compose["services"]["prepare"], compose["services"]["api"]
    assert prepare["command"] == ["bash", "scripts/run.sh", "--prepare"]
    assert prepare["restart"] == "no"
    assert prepare["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    assert "${MEDKG_DATA_DIR:-../shared/data}:/data:ro" in prepare["volumes"]
    assert api["command"] == ["medkg", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert api["depends_on"]["neo4j"] == {"condition": "service_healthy"}
    assert api["depends_on"]["prepare"] == {"condition": "service_completed_successfully"}
    # the API serves the models, embeddings-based search and admin key that `prepare` made
    for volume in ("medkg-artifacts:/app/artifacts", "medkg-home:/app/.medkg"):
        assert volume in prepare["volumes"] and volume in api["volumes"]
    assert {"medkg-artifacts", "medkg-home", "neo4j-data"} <= set(compose["volumes"])
    for svc in (prepare, api):
        assert svc["build"]["dockerfile"] == "Dockerfile"
        assert svc["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"
        assert svc["environment"]["MEDKG_HOME"] == "/app/.medkg"


FAKE_MEDKG = r"""#!/usr/bin/env bash
echo "medkg $*" >> "$STEPS"
case "$*" in
  "neo4j status --json") echo '{"running": false}' ;;
  "kg stats --json") echo '{"build": {"status": "running"}}' ;;
  keys\ create*) echo '{"api_key": "mk_fake"}' ;;
esac
"""
FAKE_PYTHON = """#!/usr/bin/env bash
if [[ "${2:-}" == *load_run* ]]; then echo "python load_run" >> "$STEPS"; exit 1; fi
exec "$REAL_PYTHON" "$@"
"""


def _run_steps(tmp_path: Path, *args: str) -> list[str]:
    """scripts/run.sh in a scratch copy of the project whose medkg, python and bootstrap only log what they are
    asked to do; the steps it ran, in order."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "scripts" / "run.sh", root / "scripts" / "run.sh")
    (root / "scripts" / "bootstrap.sh").write_text('echo bootstrap >> "$STEPS"\n')
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("medkg", FAKE_MEDKG), ("python", FAKE_PYTHON)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    steps = tmp_path / f"steps{'-'.join(args)}.log"
    env = {"PATH": "/usr/bin:/bin", "STEPS": str(steps), "REAL_PYTHON": sys.executable,
           "MEDKG_HOME": str(tmp_path / f"home{'-'.join(args)}"), "MEDKG_ARTIFACTS": str(tmp_path / "artifacts")}
    (tmp_path / f"home{'-'.join(args)}").mkdir()
    proc = subprocess.run(["bash", str(root / "scripts" / "run.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return steps.read_text().splitlines()


def test_compose_prepare_runs_the_same_main_job_as_run_sh(tmp_path: Path) -> None:
    full = _run_steps(tmp_path)
    prepare = _run_steps(tmp_path, "--prepare")
    local_only = {"bootstrap", "medkg neo4j status --json", "medkg neo4j start", "medkg neo4j status"}
    assert full[:3] == ["bootstrap", "medkg neo4j status --json", "medkg neo4j start"]
    assert full[-1].startswith("medkg serve")
    assert prepare == [s for s in full[:-1] if s not in local_only]  # the same steps, in the same order
    assert "medkg kg build" in prepare and "medkg text embed-graph" in prepare
    assert sum(" train" in s for s in prepare) >= 4  # every model family is trained when missing
    assert prepare[-1].startswith("medkg keys create")
    assert not any("serve" in s or "neo4j" in s for s in prepare)


def test_dockerfile_puts_the_venv_where_run_sh_looks() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "python -m venv /app/.venv" in text and "/app/.venv/bin/pip install -e ." in text
    assert re.search(r"^COPY scripts \./scripts$", text, re.M)
    assert "scripts" not in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()


def test_no_literal_password_in_compose(compose: dict) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "change-me" not in text
    for name, svc in compose["services"].items():
        env = svc.get("environment", {})
        if "NEO4J_PASSWORD" in env:
            assert env["NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD"), name
        if "NEO4J_AUTH" in env:
            assert re.fullmatch(r"neo4j/\$\{NEO4J_PASSWORD[^}]*\}", env["NEO4J_AUTH"]), env["NEO4J_AUTH"]
    # No `-p <literal>` for cypher-shell: the health check reads the password from the container's NEO4J_AUTH.
    assert re.search(r"-p \\?\"\$\$\{NEO4J_AUTH#neo4j/\}", text)


def test_dockerfile_slim_non_root_and_exposes_8000() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert re.search(r"^EXPOSE 8000$", text, re.M)
    assert "pip install" in text and "2.13.0" in text


def test_env_example_present_and_dot_env_ignored() -> None:
    env = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert env["NEO4J_PASSWORD"] == "change-me-please"
    assert "MEDKG_DATA_DIR" in env
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    check = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True)
    if check.returncode != 128:  # 128: not a git work tree (e.g. an unpacked release)
        assert check.returncode == 0, ".env is not ignored by git"
