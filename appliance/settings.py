"""Typed settings from APPLIANCE_* environment variables and an optional TOML file.

Precedence: environment, then `<data_dir>/appliance.toml`, then the defaults below.
Every field's description is its documentation; tests check the README table against it.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "APPLIANCE_"
SETTINGS_FILE_NAME = "appliance.toml"
SECRET_SETTINGS = frozenset({"database_url", "metrics_token", "model_api_key"})


class SettingsError(Exception):
    """A setting has a bad value; the message names the setting."""


def is_loopback(host: str | None) -> bool:
    """Whether `host` (an address, "[::1]" as URLs write it, or "localhost") is this machine."""
    if host is None or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("./var"),
        description="Folder for the database, key files and uploads. Created by `appliance init`.",
    )
    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the database. Empty means SQLite at `<data_dir>/appliance.db`; "
            "for PostgreSQL use `postgresql+psycopg://user:pass@host/db`."
        ),
    )
    keys_dir: Path | None = Field(
        default=None,
        description=(
            "Folder holding key files (mode 0600). Empty means `<data_dir>/keys`; "
            "point it at a separate volume in production."
        ),
    )
    kek_file: Path | None = Field(
        default=None,
        description=(
            "Key-encryption key file (0600). Empty means `<keys_dir>/kek.key`; keep it on a "
            "separate volume or feed it as a systemd credential. Without it nothing decrypts."
        ),
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="HMAC key of the audit chain. Empty means `<keys_dir>/audit.key`.",
    )
    host: str = Field(default="127.0.0.1", description="Address `appliance serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `appliance serve` binds to.")
    public_url: str = Field(
        default="",
        description=(
            "Base URL people use to reach the appliance (e.g. `https://notes.clinic.example`); "
            "used in printed setup links. Empty means `http://<host>:<port>`."
        ),
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description=(
            "Comma-separated addresses whose X-Forwarded-For/-Proto headers are trusted "
            "(the TLS-terminating nginx)."
        ),
    )
    idle_timeout_minutes: int = Field(
        default=15, ge=1, le=60, description="Automatic logoff after this many idle minutes."
    )
    session_lifetime_hours: int = Field(
        default=12, ge=1, le=24, description="Absolute lifetime of a session, however active."
    )
    lockout_threshold: int = Field(
        default=5, ge=3, le=20, description="Failed sign-ins in a row that lock an account."
    )
    lockout_minutes: int = Field(
        default=15, ge=1, le=1440, description="How long a locked account stays locked."
    )
    setup_link_hours: int = Field(
        default=24, ge=1, le=168, description="Validity of one-time account setup links."
    )
    two_person_access_changes: bool = Field(
        default=False,
        description=(
            "Supervisor assignments and setup links re-issued for existing accounts wait for a "
            "second admin's approval (Admin → Approvals). Needs two active admins."
        ),
    )
    metrics_token: str = Field(
        default="",
        description=(
            "Bearer token that lets Prometheus read `/metrics` from another host. Empty means "
            "`/metrics` answers loopback only."
        ),
    )
    audit_verify_interval_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="How often `appliance serve` re-verifies the whole audit chain.",
    )
    emergency_access_hours: int = Field(
        default=4, ge=1, le=72, description="Default length of an emergency access grant."
    )
    speech_url: str = Field(
        default="http://127.0.0.1:8101/v1",
        description="OpenAI-compatible speech-to-text base URL (`model-server run` prints it).",
    )
    speech_model: str = Field(
        default="whisper-base", description="Model id sent to the speech service."
    )
    llm_url: str = Field(
        default="http://127.0.0.1:8102/v1",
        description="OpenAI-compatible LLM base URL (`model-server run` prints it).",
    )
    llm_model: str = Field(default="smollm2-135m-instruct", description="Model id sent to the LLM.")
    llm_class: Literal["router", "writer"] = Field(
        default="router",
        description=(
            "What the configured LLM is trusted to do. `router` (for the bundled SmolLM2-135M "
            "or any small model): it only picks a section for sentences the cues cannot place; "
            "every statement is the clinician's sentence verbatim. `writer` (a capable "
            "instruction model, e.g. on vLLM): it also rewrites each statement into concise "
            "clinical third person; a rewrite is kept only if a deterministic check finds "
            "nothing invented, dropped or negated differently, otherwise the sentence stays "
            "verbatim, as it does when the model does not answer."
        ),
    )
    model_api_key: str = Field(
        default="", description="Bearer key for the model services, if they require one."
    )
    model_network_encrypted: bool = Field(
        default=False,
        description=(
            "Set only when plain `http://` to a model service on another host is carried over "
            "an encrypted path of its own (WireGuard, IPsec): audio and transcripts are PHI, so "
            "otherwise a non-loopback model URL must be `https://`."
        ),
    )
    max_connections: int = Field(
        default=100,
        ge=4,
        le=10_000,
        description=(
            "Connections each `appliance serve` process handles at once; more are answered 503 "
            "at once instead of queueing until memory runs out."
        ),
    )
    web_workers: int = Field(
        default=1,
        ge=1,
        le=32,
        description=(
            "Web processes `appliance serve` runs (`--workers N` overrides it). More than one "
            "needs PostgreSQL: SQLite takes one writer at a time. The job workers and periodic "
            "tasks still run once, in one of the processes."
        ),
    )
    workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Job workers started by `appliance serve`, once per box (0: none).",
    )
    job_lease_seconds: int = Field(
        default=120,
        ge=5,
        le=3600,
        description=(
            "A job claimed by a worker that stopped renewing it (a killed process) is taken over "
            "after this many seconds; live workers renew every quarter of it."
        ),
    )
    max_upload_mb: int = Field(
        default=100, ge=1, le=2048, description="Largest dictation upload accepted."
    )
    # Long enough that a clinician who pauses to think, or whose network drops for a while,
    # can carry on; short enough that an abandoned recording does not sit for hours as
    # audio nobody is going to finish.
    recording_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description=(
            "A recording streamed from the browser that receives no audio for this many minutes "
            "(the tab closed, the network lost, the clinician signed out) is ended by the "
            "appliance, as APPLIANCE_RECORDING_IDLE_ACTION says. Audited either way."
        ),
    )
    recording_idle_action: Literal["finish", "shred"] = Field(
        default="finish",
        description=(
            "What happens to an idle streamed recording: `finish` transcribes and drafts what "
            "arrived, as if Stop had been pressed; `shred` crypto-shreds its audio and ends the "
            "dictation as failed, so the clinician records again."
        ),
    )
    log_level: str = Field(
        default="INFO", description="Log level: DEBUG, INFO, WARNING or ERROR. Logs never hold PHI."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _model_traffic_encrypted(self) -> Settings:
        for name in ("speech_url", "llm_url"):
            url = urlsplit(getattr(self, name))
            if url.scheme not in ("http", "https"):
                raise ValueError(f"{name} must start with http:// or https://")
            if (
                url.scheme == "http"
                and not is_loopback(url.hostname)
                and not self.model_network_encrypted
            ):
                raise ValueError(
                    f"{name} sends audio or transcripts (PHI) in the clear to {url.hostname}: use "
                    "https://, or set model_network_encrypted if the network path is encrypted "
                    "another way"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'appliance.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads `<data_dir>/appliance.toml`; the data dir itself can only come from the environment."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        data_dir = Path(os.environ.get(f"{ENV_PREFIX}DATA_DIR", "./var"))
        self.path = data_dir / SETTINGS_FILE_NAME
        self.values: dict[str, Any] = {}
        if self.path.is_file():
            try:
                self.values = tomllib.loads(self.path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError(f"{self.path}: not valid TOML ({exc})") from exc
            if "data_dir" in self.values:
                raise SettingsError(
                    f"{self.path}: data_dir cannot be set in the file it lives in; "
                    f"use {ENV_PREFIX}DATA_DIR"
                )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def env_name(field_name: str) -> str:
    return f"{ENV_PREFIX}{field_name.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Load and validate settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            label = env_name(name) if name in Settings.model_fields else f"{name} (unknown setting)"
            # The database URL and the token are secrets, so their values are never echoed.
            shown = "" if name in SECRET_SETTINGS else f" (got {error.get('input')!r})"
            problems.append(f"{label}: {error['msg']}{shown}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from exc


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        rows.append((env_name(name), default, field.description or ""))
    return rows
