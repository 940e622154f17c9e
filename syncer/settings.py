"""Configuration: one TOML file plus ``SYNCER_<SECTION>__<KEY>`` environment overrides.

Secrets are ``SecretStr`` so they cannot leak through a repr, a log line or a traceback; they come
from the environment or from a file named in the configuration, never from a committed file.
Every mistake (an unknown key, a wrong type) becomes a ``ConfigError`` that names the key, which
the CLI turns into exit code 78.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from syncer.errors import ConfigError

CONFIG_ENV_VAR = "SYNCER_CONFIG"
API_PATH = "ms/caseware-cloud/api/v2/"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///syncer.db"
    """SQLAlchemy async URL of the desired-state database."""


class CloudSettings(_Section):
    region: str = "us"
    firm: str = ""
    base_url: str = ""
    """Optional ``scheme://host[:port]`` replacing ``https://{region}.casewarecloud.com``."""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    client_secret_file: Path | None = None
    token_lifetime_seconds: Annotated[float, Field(gt=0)] = 1800.0
    renew_margin_seconds: Annotated[float, Field(ge=0)] = 300.0
    pool_size: Annotated[int, Field(ge=1, le=50)] = 1
    max_in_flight: Annotated[int, Field(ge=1, le=512)] = 16
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    retry_after_cap_seconds: Annotated[float, Field(ge=0)] = 60.0
    page_size: Annotated[int, Field(ge=1, le=100)] = 100

    @model_validator(mode="after")
    def _secret_from_file(self) -> CloudSettings:
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
    retire_threshold_ratio: Annotated[float, Field(ge=0, le=1)] = 0.10
    """Retirements of a kind are blocked when they exceed both the count and the ratio."""


class ApplySettings(_Section):
    error_rate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.40
    error_rate_min_attempts: Annotated[int, Field(ge=1)] = 50


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYNCER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    cloud: CloudSettings = CloudSettings()
    sync: SyncSettings = SyncSettings()
    apply: ApplySettings = ApplySettings()
    sources: dict[str, str] = Field(default_factory=dict)
    """Per kind, a view name or ``SELECT`` reading desired rows from the firm's own tables."""
    logging: LogSettings = LogSettings()

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
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, chosen)) from None


def describe_validation_error(exc: ValidationError, path: Path | None) -> str:
    """One line per problem, each naming the dotted key (never the rejected value: it may be a
    secret)."""
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
