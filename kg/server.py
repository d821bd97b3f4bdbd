"""Run a real Neo4j 5.26 Community server (with the Neo4j Browser) locally, without Docker.

The jars come from Maven Central through `neo4j/pom.xml` and are cached outside the repository;
each server has its own home (conf, data, logs) and listens on loopback only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ServerError
from kg.settings import NEO4J_VERSION, REPO_ROOT

POM = REPO_ROOT / "neo4j" / "pom.xml"
STATE_FILE = "medkg-server.json"
JAVA_OPTS = [
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def ensure_jars(lib: Path, pom: Path = POM) -> Path:
    """Fetch the server, Browser and import-tool jars with Maven into `lib` unless already there."""
    if lib.is_dir() and any(lib.glob(f"neo4j-{NEO4J_VERSION}.jar")) and any(lib.glob("neo4j-browser-*.jar")):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServerError("Maven (mvn) is not installed: install it (apt-get install maven) and run again")
    lib.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=lib.parent))
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={staging}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise ServerError(
            "Maven could not fetch the Neo4j jars (is Maven Central reachable?): " + " | ".join(tail)
        )
    if lib.exists():
        shutil.rmtree(lib)
    staging.rename(lib)
    return lib


@dataclass
class Neo4jServer:
    """One local Neo4j server: its home directory, jar folder, ports and password."""

    home: Path
    lib: Path
    bolt_port: int = 7687
    http_port: int = 7474
    password: str | None = None
    heap: str = "1g"
    pagecache: str = "512m"
    guide_base: str | None = None  # the MedKG API serving /browser/guide.html and /browser/medkg.grass

    # -- paths and state -------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def state_path(self) -> Path:
        return self.home / "run" / STATE_FILE

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    def _state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def running_pid(self) -> int | None:
        state = self._state()
        if state and _pid_alive(int(state["pid"])):
            return int(state["pid"])
        return None

    def resolve_password(self) -> str:
        """NEO4J password from the caller, else the stored one, else a new one stored with 0600."""
        if self.password:
            return self.password
        if self.password_file.exists():
            return self.password_file.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        pw = "m" + secrets.token_urlsafe(18)  # never a leading '-': neo4j-admin would read it as an option
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(pw + "\n")
        return pw

    # -- configuration ---------------------------------------------------
    def write_conf(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.home / "plugins").mkdir(exist_ok=True)
        conf = f"""# written by `medkg neo4j start`; edits are overwritten
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:{self.bolt_port}
server.bolt.advertised_address=127.0.0.1:{self.bolt_port}
server.bolt.tls_level=DISABLED
server.http.listen_address=127.0.0.1:{self.http_port}
server.http.advertised_address=127.0.0.1:{self.http_port}
server.https.enabled=false
server.directories.data={self.data_dir}
server.directories.logs={self.home / "logs"}
server.directories.run={self.home / "run"}
server.directories.import={self.home / "import"}
dbms.security.auth_enabled=true
server.memory.pagecache.size={self.pagecache}
dbms.memory.transaction.total.max=1g
db.tx_log.rotation.retention_policy=1 files
dbms.usage_report.enabled=false
db.transaction.timeout=0s
"""
        conf += self.browser_conf()
        (self.conf_dir / "neo4j.conf").write_text(conf)

    def browser_conf(self) -> str:
        """On connect, Neo4j Browser applies the MedKG style and opens the MedKG guide, both from the API (its host
        must be on the remote-content allowlist, which Neo4j 5.26 still names `..._whitelist`: an unknown setting
        name stops the server; the Browser prefixes each `;`-separated command with `:`)."""
        if not self.guide_base:
            return ""
        base = self.guide_base.rstrip("/")
        host = urllib.parse.urlsplit(base).hostname or "127.0.0.1"
        return (f"browser.post_connect_cmd=style {base}/browser/medkg.grass; play {base}/browser/guide.html\n"
                f"browser.remote_content_hostname_whitelist={host},localhost\n")

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise ServerError("Java is not installed: Neo4j 5.26 needs Java 17 (apt-get install openjdk-17-jre)")
        return java

    def _set_initial_password(self, java: str, password: str) -> None:
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
        proc = subprocess.run(
            [java, "-cp", f"{self.lib}/*", "org.neo4j.cli.AdminTool", "dbms", "set-initial-password", password],
            capture_output=True, text=True, env=env, check=False,
        )
        if proc.returncode != 0:
            raise ServerError(f"could not set the initial Neo4j password: {proc.stderr.strip()[-300:]}")

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout: float = 180.0) -> dict:
        """Start the server and return its status once `RETURN 1` answers."""
        pid = self.running_pid()
        if pid is not None:
            raise ServerError(f"Neo4j is already running (pid {pid}, home {self.home}); nothing started")
        java = self._java()
        ensure_jars(self.lib)
        if self.bolt_port == 0:
            self.bolt_port = free_port()
        if self.http_port == 0:
            self.http_port = free_port()
        for name, port in (("Bolt", self.bolt_port), ("HTTP", self.http_port)):
            if port_in_use(port):
                raise ServerError(
                    f"{name} port {port} is already in use: stop what uses it or pick another port "
                    f"(--{name.lower()}-port or NEO4J_{name.upper()}_PORT)"
                )
        password = self.resolve_password()
        self.write_conf()
        if not (self.data_dir / "dbms").exists():
            self._set_initial_password(java, password)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JAVA_OPTS,
               "-cp", f"{self.home}/plugins/*:{self.lib}/*", "org.neo4j.server.CommunityEntryPoint",
               f"--home-dir={self.home}", f"--config-dir={self.conf_dir}", "--console-mode"]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.home)
        self.state_path.write_text(json.dumps(
            {"pid": proc.pid, "bolt_port": self.bolt_port, "http_port": self.http_port}))
        self._wait_ready(proc, password, timeout)
        return self.status()

    def _wait_ready(self, proc: subprocess.Popen, password: str, timeout: float) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

        deadline = time.monotonic() + timeout
        uri = f"bolt://127.0.0.1:{self.bolt_port}"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.state_path.unlink(missing_ok=True)
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
                raise ServerError(f"Neo4j exited with code {proc.returncode}: " + " | ".join(tail))
            try:
                with GraphDatabase.driver(uri, auth=("neo4j", password), notifications_min_severity="OFF") as driver, \
                        driver.session(database="neo4j") as session:
                    if session.run("RETURN 1 AS ok").single(strict=True)["ok"] == 1:
                        return
            except AuthError as exc:
                self.stop()
                raise ServerError(
                    f"Neo4j refused the password ({exc.message}); the data directory {self.data_dir} was "
                    "created with another one: set NEO4J_PASSWORD to it"
                ) from exc
            except (ServiceUnavailable, SessionExpired, OSError):
                pass
            except (Neo4jError, DriverError) as exc:  # the database may still be starting
                if "not available" not in str(exc).lower() and "unavailable" not in str(exc).lower():
                    raise
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"Neo4j did not answer RETURN 1 within {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Clean shutdown (SIGTERM, then wait); returns False when nothing was running."""
        pid = self.running_pid()
        if pid is None:
            self.state_path.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.state_path.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """Hard kill (SIGKILL), as a crash would: for fault tests."""
        pid = self.running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.state_path.unlink(missing_ok=True)

    def status(self) -> dict:
        """Running or not, version and edition from the HTTP discovery document, ports, data dir."""
        pid = self.running_pid()
        state = self._state() or {}
        bolt = state.get("bolt_port", self.bolt_port)
        http = state.get("http_port", self.http_port)
        info: dict = {
            "running": pid is not None,
            "pid": pid,
            "bolt_port": bolt,
            "http_port": http,
            "bolt_uri": f"bolt://127.0.0.1:{bolt}",
            "browser_url": f"http://127.0.0.1:{http}/browser/",
            "home": str(self.home),
            "data_dir": str(self.data_dir),
            "version": None,
            "edition": None,
        }
        if pid is not None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/", timeout=5) as resp:
                    disc = json.loads(resp.read())
                info["version"] = disc.get("neo4j_version")
                info["edition"] = disc.get("neo4j_edition")
            except OSError:
                pass
        return info
