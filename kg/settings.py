"""Settings read from the environment (and `.env`); secrets never live in code."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

NEO4J_VERSION = "5.26.29"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(os.environ.get("MEDKG_HOME", REPO_ROOT / ".medkg"))


def _default_data_dir() -> Path:
    return (REPO_ROOT.parent / "shared" / "data").resolve()


class Settings(BaseSettings):
    """Everything configurable, by environment variable (names in upper case)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    medkg_home: Path = Field(default_factory=_default_home)
    neo4j_home: Path | None = None
    neo4j_lib: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "medkg" / f"neo4j-{NEO4J_VERSION}" / "lib"
    )
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str = "neo4j"
    neo4j_bolt_port: int = 7687
    neo4j_http_port: int = 7474
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    medkg_data_dir: Path = Field(default_factory=_default_data_dir)
    medkg_artifacts: Path = Field(default_factory=lambda: REPO_ROOT / "artifacts")
    medkg_api_keys: Path | None = None  # default: $MEDKG_HOME/api-keys.json
    medkg_audit_log: Path | None = None  # default: $MEDKG_HOME/audit.log
    medkg_rate_limit: float = 50.0  # requests per second per API key
    medkg_rate_burst: int = 100
    medkg_max_body_bytes: int = 1_000_000
    medkg_build_check_seconds: float = 1.0  # how stale the API's view of the newest build may be
    medkg_image_normal_share: float = 0.37  # target share of normal chest X-rays (calibration, threshold)
    medkg_image_store_pixels: bool = False  # keep an uploaded image's 28×28 pixels on its Image node
    medkg_image_max_bytes: int = 10_000_000  # largest accepted upload to POST /patients/{id}/images
    medkg_image_max_pixels: int = 50_000_000  # largest accepted width × height (decompression bombs)
    # where Neo4j Browser fetches the MedKG guide and style on connect (the API); empty: no on-connect commands
    medkg_browser_guide_url: str = "http://127.0.0.1:8000"

    @property
    def server_home(self) -> Path:
        return self.neo4j_home or (self.medkg_home / "neo4j")

    @property
    def bolt_uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.neo4j_bolt_port}"

    def password(self) -> str:
        """The Neo4j password: NEO4J_PASSWORD, else the one stored (0600) in the server home."""
        if self.neo4j_password:
            return self.neo4j_password
        stored = self.server_home / "password"
        if stored.exists():
            return stored.read_text().strip()
        from kg.errors import ConfigError

        raise ConfigError(
            f"no Neo4j password: set NEO4J_PASSWORD or run `medkg neo4j start` (stores one in {stored})"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
