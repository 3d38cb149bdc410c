"""Settings: DSN spellings, refused unsafe values, and a one-line start-up failure."""

import os
import subprocess

import pytest
from pydantic import ValidationError

from app.config import Settings, describe_settings_error
from tests.conftest import ROOT

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


def settings(**values):
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://rekam:secret@db.example:5432/rekam",
        "postgresql://rekam:secret@db.example:5432/rekam",
        "postgresql+asyncpg://rekam:secret@db.example:5432/rekam",
    ],
)
def test_database_url_is_pointed_at_asyncpg(url):
    assert settings(database_url=url).database_url == (
        "postgresql+asyncpg://rekam:secret@db.example:5432/rekam"
    )


def test_database_url_from_the_environment_is_normalised(monkeypatch):
    monkeypatch.setenv("REKAM_DATABASE_URL", "postgres://u@h/d")

    assert Settings(_env_file=None).database_url == "postgresql+asyncpg://u@h/d"


@pytest.mark.parametrize("url", ["mysql://u@h/d", "sqlite:///rekam.db", "h:5432/d"])
def test_database_url_of_another_kind_is_refused(url):
    with pytest.raises(ValidationError):
        settings(database_url=url)


def test_admin_token_shorter_than_16_characters_is_refused():
    with pytest.raises(ValidationError, match="16"):
        settings(admin_token="x" * 15)


def test_admin_token_of_16_characters_is_accepted():
    assert settings(admin_token="x" * 16).admin_token.get_secret_value() == "x" * 16


def test_admin_token_from_the_environment_is_checked(monkeypatch):
    monkeypatch.setenv("REKAM_ADMIN_TOKEN", "short")

    with pytest.raises(ValidationError):
        Settings(_env_file=None)


@pytest.mark.parametrize("timezone", ["Mars/Base", "WITA", "", "Asia/Makassar/../../etc"])
def test_unknown_timezone_is_refused(timezone):
    with pytest.raises(ValidationError):
        settings(timezone=timezone)


@pytest.mark.parametrize("timezone", ["Asia/Makassar", "Asia/Jakarta", "Asia/Jayapura", "UTC"])
def test_iana_timezone_is_accepted(timezone):
    assert settings(timezone=timezone).timezone == timezone


def test_defaults():
    defaults = settings()

    assert (
        defaults.timezone,
        defaults.edit_window_days,
        defaults.max_batch,
        defaults.public_read,
        defaults.max_body_bytes,
    ) == ("Asia/Makassar", 7, 10_000, False, 5 * 1024 * 1024)


def test_public_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("REKAM_PUBLIC_READ", "true")

    assert Settings(_env_file=None).public_read is True


@pytest.mark.parametrize("days", [0, -1, 367])
def test_edit_window_out_of_range_is_refused(days):
    with pytest.raises(ValidationError):
        settings(edit_window_days=days)


def test_settings_error_is_described_in_one_line_naming_the_variable():
    with pytest.raises(ValidationError) as caught:
        settings(timezone="Mars/Base", admin_token="short")

    description = describe_settings_error(caught.value)

    assert "\n" not in description
    assert "REKAM_TIMEZONE" in description
    assert "REKAM_ADMIN_TOKEN" in description


def rekam(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REKAM_")}
    environment.update({"REKAM_DATABASE_URL": UNREACHABLE, **env})
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rekam"), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
def test_bad_timezone_stops_the_command_with_one_line(command):
    result = rekam(*command, REKAM_TIMEZONE="Mars/Base")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "REKAM_TIMEZONE" in lines[0]


def test_short_admin_token_stops_the_command_with_one_line():
    result = rekam("migrate", REKAM_ADMIN_TOKEN="short")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "REKAM_ADMIN_TOKEN" in result.stderr


def test_database_url_of_another_kind_stops_the_command_with_one_line():
    result = rekam("migrate", REKAM_DATABASE_URL="mysql://u@h/d")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "REKAM_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("url", ["http://cache:6379", "127.0.0.1:6379", "memcached://m:11211"])
def test_redis_url_of_another_kind_is_refused(url):
    with pytest.raises(ValidationError, match="redis://"):
        settings(redis_url=url)


def test_redis_url_is_kept_secret_and_empty_means_none():
    configured = settings(redis_url="redis://:pw@cache:6379/0")
    assert configured.redis_url is not None
    assert "pw" not in repr(configured)
    assert settings(redis_url="").redis_url is None


def test_pgbouncer_mode_from_the_environment(monkeypatch):
    assert settings().database_pgbouncer is False
    monkeypatch.setenv("REKAM_DATABASE_PGBOUNCER", "true")
    assert Settings(_env_file=None).database_pgbouncer is True
