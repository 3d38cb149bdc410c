"""Settings: every knob Rekam reads from the environment (REKAM_*) or a .env file."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and point them at the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("must start with postgresql:// or postgres://")


def valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r}") from None
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REKAM_", env_file=".env", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path(".rekam")
    admin_token: SecretStr | None = None
    timezone: str = "Asia/Makassar"
    edit_window_days: int = Field(default=7, ge=1, le=366)
    max_batch: int = Field(default=10_000, ge=1, le=100_000)
    public_read: bool = False
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    statement_timeout_ms: int = Field(default=10_000, ge=100)
    pool_size: int = Field(default=10, ge=1, le=50)
    max_overflow: int = Field(default=5, ge=0, le=50)
    docs_enabled: bool = True
    cors_origins: Annotated[list[str], NoDecode] = []
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    auth_failures_per_minute: int = Field(default=30, ge=1)
    # Where the rate limits are counted: this process's memory when unset; a Redis shared by
    # every worker and instance when set (redis://[:password@]host:port/db). A secret: the URL
    # may carry a password.
    redis_url: SecretStr | None = None
    # Prefixes every key Rekam writes in that Redis, so several deployments can share one.
    redis_key_prefix: str = Field(default="rekam", min_length=1, max_length=64)
    # Connections go through PgBouncer in transaction pooling mode (docs/scaling.md): asyncpg
    # then caches no prepared statements and names each one uniquely.
    database_pgbouncer: bool = False
    log_requests: bool = True
    # Seconds a client has to send its whole request body (408 after), and to take each
    # part of a response (the connection is closed after): no slow client holds a worker.
    body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    send_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Addresses of the reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return valid_timezone(value)

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()


async def app_settings(request: Request) -> Settings:
    """The settings the running app was made with (tests make apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


def describe_settings_error(error: Exception) -> str:
    """One line naming the bad variable, for start-up failures."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors():
            name = "REKAM_" + str(item["loc"][0]).upper() if item["loc"] else "settings"
            parts.append(f"{name}: {item['msg']}")
        return "invalid configuration: " + "; ".join(parts)
    return f"invalid configuration: {error}"
