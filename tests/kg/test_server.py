"""The local Neo4j server manager against real servers (scratch homes, free ports)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kg.errors import ServerError
from kg.server import Neo4jServer, ensure_jars
from kg.settings import get_settings

pytestmark = pytest.mark.neo4j


def test_start_status_second_start_and_clean_stop(scratch_server: Neo4jServer) -> None:
    st = scratch_server.start()
    assert st["running"] is True
    assert st["version"].startswith("5.26")
    assert st["edition"] == "community"
    assert st["bolt_port"] > 0 and st["http_port"] > 0
    assert st["data_dir"] == str(scratch_server.home / "data")
    with pytest.raises(ServerError, match="already running"):
        scratch_server.start()
    conf = (scratch_server.conf_dir / "neo4j.conf").read_text()
    assert "server.default_listen_address=127.0.0.1" in conf
    assert "dbms.security.auth_enabled=true" in conf
    assert scratch_server.stop() is True
    assert scratch_server.status()["running"] is False
    # A clean shutdown leaves no store lock: restarting works at once.
    assert scratch_server.start()["running"] is True


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        server = Neo4jServer(home=tmp_path / "n", lib=get_settings().neo4j_lib, bolt_port=busy, http_port=0)
        with pytest.raises(ServerError, match=f"Bolt port {busy} is already in use"):
            server.start()
    assert server.running_pid() is None


def test_generated_password_is_private(tmp_path: Path) -> None:
    server = Neo4jServer(home=tmp_path / "n", lib=get_settings().neo4j_lib)
    pw = server.resolve_password()
    assert len(pw) >= 16
    assert stat.S_IMODE(os.stat(server.password_file).st_mode) == 0o600
    assert server.resolve_password() == pw


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env)


def test_missing_java_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # neither java nor mvn on PATH
    proc = _cli(["neo4j", "start", "--home", str(tmp_path / "n"), "--bolt-port", "0", "--http-port", "0"], env)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "Java is not installed" in proc.stderr


def test_failed_maven_fetch_is_one_line(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project><modelVersion>4.0.0</modelVersion><groupId>x</groupId><artifactId>y</artifactId>"
                   "<version>1</version><packaging>pom</packaging><dependencies><dependency>"
                   "<groupId>org.neo4j</groupId><artifactId>no-such-artifact-medkg</artifactId>"
                   "<version>0.0.0</version></dependency></dependencies></project>")
    lib = tmp_path / "lib"
    with pytest.raises(ServerError, match="Maven could not fetch the Neo4j jars") as err:
        ensure_jars(lib, pom=pom)
    assert "\n" not in str(err.value)
    assert not lib.exists()


def test_status_json_when_stopped(tmp_path: Path) -> None:
    proc = _cli(["neo4j", "status", "--json", "--home", str(tmp_path / "n")], dict(os.environ))
    assert proc.returncode == 0
    st = json.loads(proc.stdout)
    assert st["running"] is False
    assert st["data_dir"] == str(tmp_path / "n" / "data")
