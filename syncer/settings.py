"""Configuration: one TOML file plus ``SYNCER_<SECTION>__<KEY>`` environment overrides.

Secrets are ``SecretStr`` so they cannot leak through a repr, a log line or a traceback; they come
from the environment or from a file named in the configuration, never from a committed file.
Every mistake (an unknown key, a wrong type) becomes a ``ConfigError`` that names the key, which
the CLI turns into exit code 78.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from syncer.assumptions import ApiSettings
from syncer.errors import ConfigError, UsageError
from syncer.moved_keys import MOVED_TO_API, fold_moved, moved_in_use

CONFIG_ENV_VAR = "SYNCER_CONFIG"
API_PATH = "ms/caseware-cloud/api/v2/"


class _Section(BaseModel):
    # Attribute docstrings become field descriptions, so the configuration reference in the README
    # is generated from this module (``python -m syncer.settings_doc``) and cannot drift from it.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///syncer.db"
    """SQLAlchemy async URL of the desired-state database."""

    @field_validator("url")
    @classmethod
    def _a_database_url(cls, url: str) -> str:
        try:
            make_url(url).get_dialect()  # also refuses an unknown driver name
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL (e.g. sqlite+aiosqlite:///syncer.db)") from None
        return url


class CloudSettings(_Section):
    region: str = "us"
    """Caseware Cloud region; the API host is ``https://{region}.casewarecloud.com``."""
    firm: str = ""
    """The firm's short name, the first segment of every API path."""
    base_url: str = ""
    """Optional ``scheme://host[:port]`` replacing ``https://{region}.casewarecloud.com``."""
    client_id: str = ""
    """The API client's id (Cloud settings, API clients)."""
    client_secret: SecretStr = SecretStr("")
    """The API client's secret: only from the environment (``SYNCER_CLOUD__CLIENT_SECRET``); one
    written in the configuration file is refused (exit 78)."""
    client_secret_env: str = ""
    """Name of an environment variable holding the secret, e.g. ``ACME_SECRET`` (``[[firms]]``)."""
    client_secret_file: Path | None = None
    """A file holding the secret, readable only by syncer's user (a warning says when not)."""
    token_lifetime_seconds: Annotated[float | None, Field(gt=0)] = None
    """Deprecated: now ``cloud.api.token_lifetime_seconds``; still read (with a warning)."""
    renew_margin_seconds: Annotated[float, Field(ge=0)] = 300.0
    """Renew a token this long before its lifetime ends."""
    pool_size: Annotated[int, Field(ge=1, le=50)] = 1
    """API sessions; more only help if the server keys its rate limit per session."""
    max_in_flight: Annotated[int, Field(ge=1, le=512)] = 256
    """Safety cap on requests in flight (and open connections). The working number follows the
    learned rate and the measured latency (rate x latency); 256 lets 200 requests/s through at
    1 s of latency with headroom, while staying well under the usual limit of 1,024 open files."""
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    """Time allowed to open a connection."""
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    """Time allowed for one whole request."""
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    """Retries of an idempotent request after a 5xx, a timeout or a dropped connection."""
    retry_after_cap_seconds: Annotated[float, Field(ge=0)] = 60.0
    """Longest ``Retry-After`` honoured."""
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    """Objects per page when reading lists."""
    max_pages: Annotated[int, Field(ge=1)] = 100_000
    """Most pages read of one list; a list that goes on longer is a server fault (exit 76)."""
    max_response_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    """Largest response body accepted; a bigger one ends the run (exit 76)."""
    max_throttled_seconds: Annotated[float, Field(gt=0)] = 900.0
    """How long a request may be refused by the rate limit (429) before the run ends (exit 69)."""
    api: ApiSettings = ApiSettings()
    """What syncer assumes about the API (``[cloud.api]``); ``syncer probe`` checks it."""

    @model_validator(mode="after")
    def _moved_keys(self) -> CloudSettings:
        object.__setattr__(self, "api", fold_moved(self.moved_keys(), self.api))
        return self

    def moved_keys(self) -> dict[str, Any]:
        """The keys of this section that moved to ``[cloud.api]``, and their values here."""
        return {key: getattr(self, key) for key in MOVED_TO_API}

    @model_validator(mode="after")
    def _secret_from_env_or_file(self) -> CloudSettings:
        # Precedence: client_secret (SYNCER_CLOUD__CLIENT_SECRET), then the variable named by
        # client_secret_env, then client_secret_file. A named variable that is unset is reported
        # only when its firm is selected (Settings.select_firms), so one firm's missing secret
        # does not stop the others' runs.
        if self.client_secret_env and not self.client_secret.get_secret_value():
            from_env = os.environ.get(self.client_secret_env, "").strip()
            if from_env:
                object.__setattr__(self, "client_secret", SecretStr(from_env))
        if self.client_secret_file is not None and not self.client_secret.get_secret_value():
            try:
                secret = self.client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"cannot read client_secret_file: {exc.strerror}") from None
            object.__setattr__(self, "client_secret", SecretStr(secret))
        return self

    @property
    def api_root(self) -> str:
        """The absolute URL every API path is relative to, ending in a slash."""
        origin = self.base_url.rstrip("/") or f"https://{self.region}.casewarecloud.com"
        return f"{origin}/{self.firm}/{API_PATH}"


class SyncMode(StrEnum):
    UPSERT = "upsert"
    MIRROR = "mirror"
    CREATE_ONLY = "create-only"
    UPDATE_ONLY = "update-only"


class SyncSettings(_Section):
    modes: dict[str, SyncMode] = Field(default_factory=dict)
    """Per kind; kinds not named use ``upsert``."""
    protected: dict[str, list[str]] = Field(default_factory=dict)
    """Per kind, natural keys syncer must never change."""
    delete_users: bool = False
    """In mirror mode, delete users instead of deactivating them."""
    retire_threshold_count: Annotated[int, Field(ge=0)] = 20
    """Block a kind's retirements when there are more than this many (and the ratio is passed)."""
    retire_threshold_ratio: Annotated[float, Field(ge=0, le=1)] = 0.10
    """Retirements of a kind are blocked when they exceed both the count and the ratio."""
    reread_children_days: Annotated[float, Field(gt=0)] = 7.0
    """Re-read a client's addresses known to be in step after this many days (Cloud edits)."""


class ApplySettings(_Section):
    error_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.40
    """Stop (exit 4) when more than this share of attempts failed..."""
    error_rate_min_attempts: Annotated[int, Field(ge=1)] = 50
    """...once at least this many attempts were made."""


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level written."""
    format: Literal["auto", "console", "json"] = "auto"
    """``auto``: readable on a terminal, JSON lines otherwise (cron, CI)."""


class FirmSettings(_Section):
    """One firm of a multi-firm configuration (``[[firms]]``): its own API client and limits.

    ``database`` and ``sync`` default to the top-level sections, so several firms can share one
    database (syncer's bookkeeping is keyed by firm) or each point at their own.
    """

    name: str = Field(min_length=1)
    """The firm's label for ``--firm NAME``; also its ``cloud.firm`` unless that is set."""
    cloud: CloudSettings = CloudSettings()
    """The firm's own ``[cloud]`` section (same keys as the top-level one)."""
    database: DatabaseSettings | None = None
    """Optional override of the top-level ``[database]``."""
    sync: SyncSettings | None = None
    """Optional override of the top-level ``[sync]``."""
    schedule: str | None = None
    """Cron line (e.g. ``"30 2 * * *"``, UTC) on which ``syncer worker`` applies this firm."""

    @model_validator(mode="after")
    def _firm_defaults_to_name(self) -> FirmSettings:
        if not self.cloud.firm:
            object.__setattr__(self, "cloud", self.cloud.model_copy(update={"firm": self.name}))
        return self


@dataclass(frozen=True, slots=True)
class Firm:
    """A selected firm and the single-firm ``Settings`` a run for it uses."""

    name: str
    settings: Settings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYNCER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    cloud: CloudSettings = CloudSettings()
    sync: SyncSettings = SyncSettings()
    apply: ApplySettings = ApplySettings()
    sources: dict[str, str] = Field(default_factory=dict)
    """Per kind, a view name or ``SELECT`` reading desired rows from the firm's own tables."""
    logging: LogSettings = LogSettings()
    firms: tuple[FirmSettings, ...] = ()
    """Several firms in one file (``[[firms]]``); when present, ``[cloud]`` must be absent."""
    _config_file: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_form_of_cloud(self) -> Settings:
        if self.firms and "cloud" in self.model_fields_set:
            raise ValueError("use either [cloud] (one firm) or [[firms]] (several), not both")
        names = [firm.name for firm in self.firms]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"firm names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def firm_configs(self) -> tuple[Firm, ...]:
        """Every configured firm as a single-firm ``Settings``; the ``[cloud]`` form is one firm.

        Code that runs one firm (plan, apply) takes ``Firm.settings`` and never looks at
        ``firms``: the multi-firm form is resolved here, in one place.
        """
        if not self.firms:
            return (Firm(self.cloud.firm or "default", self),)
        return tuple(
            Firm(
                firm.name,
                self.model_copy(
                    update={
                        "cloud": firm.cloud,
                        "database": firm.database or self.database,
                        "sync": firm.sync or self.sync,
                        "firms": (),
                    }
                ),
            )
            for firm in self.firms
        )

    def select_firms(
        self, name: str | None = None, *, to_reach_cloud: bool = True
    ) -> tuple[Firm, ...]:
        """The firms a command runs for: ``name`` alone (``--firm NAME``), else all of them.

        Raises ``UsageError`` (64) for an unknown name and ``ConfigError`` (78) when a selected
        firm's ``client_secret_env`` names an unset variable or, ``to_reach_cloud``, when it lacks
        what a request needs: found before any request, never as a DNS error for a blank host.
        """
        configured = self.firm_configs()
        chosen = configured if name is None else tuple(f for f in configured if f.name == name)
        if not chosen:
            known = ", ".join(f.name for f in configured)
            raise UsageError(f"no firm named {name!r} in the configuration; configured: {known}")
        for firm in chosen:
            cloud = firm.settings.cloud
            if cloud.client_secret_env and not cloud.client_secret.get_secret_value():
                raise ConfigError(
                    f"firm {firm.name}: cloud.client_secret_env names the environment variable "
                    f"{cloud.client_secret_env}, which is not set"
                )
            missing = missing_cloud_keys(cloud) if to_reach_cloud else []
            if missing:
                raise ConfigError(self._missing_message(firm.name, missing))
        return chosen

    def _missing_message(self, firm: str, missing: list[str]) -> str:
        where = f"firm {firm}: " if self.firms else ""
        if self._config_file is None:
            missing = ["a configuration file (--config or SYNCER_CONFIG)", *missing]
        return (
            f"{where}cannot reach Cloud without {', '.join(missing)}; "
            "try `syncer demo` to see syncer work against a simulator, and start a configuration "
            "from config/example.toml"
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)


def load_settings(path: Path | None = None) -> Settings:
    """Read the configuration file (``path``, else ``$SYNCER_CONFIG``, else none) and the env."""
    from_env = os.environ.get(CONFIG_ENV_VAR)
    chosen = path or (Path(from_env) if from_env else None)
    data: dict[str, Any] = {}
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {chosen}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {chosen} is not valid TOML: {exc}") from None
    refuse_secrets_in_file(data, chosen)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, chosen)) from None
    settings._config_file = chosen
    return settings


def deprecated_keys(settings: Settings) -> list[tuple[str, str]]:
    """``(old key, new key)`` for every moved key a configured firm still sets in its old place."""
    found = (moved_in_use(f.settings.cloud.moved_keys()) for f in settings.firm_configs())
    return sorted({pair for pairs in found for pair in pairs})


def missing_cloud_keys(cloud: CloudSettings) -> list[str]:
    """What a firm still lacks to talk to Cloud, as the keys the user would set."""
    required = {
        "cloud.firm": cloud.firm,
        "cloud.client_id": cloud.client_id,
        "the client secret (SYNCER_CLOUD__CLIENT_SECRET, cloud.client_secret_env or "
        "cloud.client_secret_file)": cloud.client_secret.get_secret_value(),
    }
    return [key for key, value in required.items() if not value.strip()]


def refuse_secrets_in_file(data: Mapping[str, Any], path: Path | None) -> None:
    """A secret written in the configuration file ends up in backups and version control, so it
    is refused (as documented) rather than used: it belongs in the environment or a secret file."""
    sections = [("cloud", data.get("cloud"))]
    firms = data.get("firms")
    if isinstance(firms, list):
        sections += [
            (f"firms.{i}.cloud", f.get("cloud")) for i, f in enumerate(firms) if isinstance(f, dict)
        ]
    for where, section in sections:
        if isinstance(section, dict) and "client_secret" in section:
            raise ConfigError(
                f"{where}.client_secret in {path}: a secret never goes in the configuration "
                "file; set SYNCER_CLOUD__CLIENT_SECRET, cloud.client_secret_env or "
                "cloud.client_secret_file"
            )


def loose_secret_files(settings: Settings) -> list[Path]:
    """Secret files that the group or others may read (ssh warns about those keys too)."""
    files = {firm.settings.cloud.client_secret_file for firm in settings.firm_configs()}
    return sorted(
        path for path in files if path is not None and path.exists() and path.stat().st_mode & 0o077
    )


def describe_validation_error(exc: ValidationError, path: Path | None) -> str:
    """Every problem on one line, each naming the dotted key (never the rejected value: it may
    be a secret)."""
    where = f" in {path}" if path else ""
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"{key}: {message}")
    return f"invalid configuration{where}: " + "; ".join(problems)
