"""The container files, checked without a Docker engine: what they say must agree with the
package, the CLI and the settings."""

import contextlib
import io
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import cmd_migrate, cmd_serve, parser
from app.config import Settings
from tests.conftest import ROOT

# The container must listen beyond its own loopback to be reachable at all.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
REQUIRED_ENV = {"REKAM_DATABASE_URL", "REKAM_ADMIN_TOKEN", "REKAM_TIMEZONE", "REKAM_PUBLIC_READ"}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def instruction(name: str) -> list[str]:
    return [rest for keyword, rest in dockerfile() if keyword == name]


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) command; the shell form would not receive SIGTERM."""
    command = json.loads(arguments)
    assert isinstance(command, list)
    assert all(isinstance(part, str) for part in command)
    return command


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def resolve(value: str) -> str:
    """Compose's ${NAME:-default} and ${NAME:?message}, as if nothing were set in the shell."""

    def one(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if operator == ":?":
            return {"REKAM_ADMIN_TOKEN": "a-token-long-enough-for-rekam"}[name]
        return rest or ""

    return re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", one, value)


def serve_help() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parser().parse_args(["serve", "--help"])
    return out.getvalue()


# Dockerfile


def test_dockerfile_builds_on_slim_python_311():
    assert instruction("FROM") == ["python:3.11-slim"]


def test_dockerfile_installs_the_package_from_what_it_is_built_from():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = {part.rstrip("/") for rest in instruction("COPY") for part in rest.split()[:-1]}
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}

    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in instruction("RUN"))
    assert {"pyproject.toml", project["project"]["readme"]} | packages <= copied


def test_dockerfile_runs_as_a_user_other_than_root():
    users = instruction("USER")

    assert users, "no USER: the service would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    keywords = [keyword for keyword, _ in dockerfile()]
    assert keywords.index("CMD") > len(keywords) - 1 - keywords[::-1].index("USER")


def test_dockerfile_cmd_serves_on_the_exposed_port_with_the_cli_options():
    (cmd,) = instruction("CMD")
    command = exec_form(cmd)
    (exposed,) = instruction("EXPOSE")

    assert command[:2] == ["rekam", "serve"]
    args = parser().parse_args(command[1:])
    assert args.run is cmd_serve
    assert args.host == ALL_INTERFACES
    assert args.port == int(exposed.split("/")[0])
    help_text = serve_help()
    for option in command[2:]:
        if option.startswith("--"):
            assert option in help_text


def test_dockerfile_healthcheck_asks_healthz_on_the_served_port_without_curl():
    (healthcheck,) = instruction("HEALTHCHECK")
    (cmd,) = instruction("CMD")
    port = parser().parse_args(exec_form(cmd)[1:]).port

    command = exec_form(healthcheck.split("CMD", 1)[1].strip())
    assert command[:2] == ["python", "-c"]
    assert "urllib" in command[2]
    assert f"http://127.0.0.1:{port}/healthz" in command[2]
    compile(command[2], "healthcheck", "exec")
    assert "curl" not in healthcheck


def test_dockerignore_keeps_the_build_inputs_and_drops_local_state():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert {".git", ".venv", ".rekam", ".env"} <= ignored
    assert not {"app", "migrations", "pyproject.toml", "README.md"} & ignored


def test_package_data_ships_the_dashboard_and_the_migrations():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = project["tool"]["setuptools"]["package-data"]

    def shipped(package: str) -> set[Path]:
        base = ROOT / package
        return {path for pattern in package_data[package] for path in base.glob(pattern)}

    assets = {p for p in (ROOT / "app" / "static" / "dashboard").rglob("*") if p.is_file()}
    assert {"index.html", "main.js", "style.css"} <= {p.name for p in assets}
    assert any(p.parent.name == "views" for p in assets)
    assert assets <= shipped("app")
    revisions = set((ROOT / "migrations" / "versions").glob("*.py"))
    assert revisions
    assert revisions <= shipped("migrations")
    assert (ROOT / "migrations" / "__init__.py").exists()


# docker-compose.yml


def test_compose_names_the_database_the_migration_and_the_app():
    assert set(compose()["services"]) == {"db", "migrate", "app"}


def test_compose_database_is_postgres_16_with_a_healthcheck_and_a_named_volume():
    document = compose()
    db = document["services"]["db"]

    assert db["image"] == "postgres:16"
    test = db["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    volume, _, target = db["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in document["volumes"]


def test_compose_migrates_once_after_the_database_is_healthy():
    migrate = compose()["services"]["migrate"]
    command = migrate["command"]
    command = shlex.split(command) if isinstance(command, str) else command

    assert command[0] == "rekam"
    assert parser().parse_args(command[1:]).run is cmd_migrate
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate.get("restart", "no") == "no"


def test_compose_app_waits_for_a_healthy_database_and_a_finished_migration():
    app = compose()["services"]["app"]

    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_compose_app_publishes_the_port_it_serves_on():
    app = compose()["services"]["app"]
    args = parser().parse_args(app["command"][1:])

    assert app["command"][:2] == ["rekam", "serve"]
    assert args.host == ALL_INTERFACES
    assert any(str(mapping).endswith(f":{args.port}") for mapping in app["ports"])
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert f":{args.port}/" in " ".join(app["healthcheck"]["test"])


@pytest.mark.parametrize("service", ["migrate", "app"])
def test_compose_environment_is_a_valid_rekam_configuration(service):
    environment = {
        name: resolve(str(value))
        for name, value in compose()["services"][service]["environment"].items()
    }

    assert set(environment) >= REQUIRED_ENV
    assert "@db:5432/" in environment["REKAM_DATABASE_URL"]
    # Every REKAM_ name is a real setting (a misspelt one would be ignored silently).
    known = {"REKAM_" + name.upper() for name in Settings.model_fields}
    assert set(environment) <= known
    settings = Settings(_env_file=None, **{k[6:].lower(): v for k, v in environment.items()})
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql+asyncpg://rekam:")
    assert settings.timezone == "Asia/Makassar"
    assert settings.public_read is False


def test_compose_admin_token_has_no_default():
    document = (ROOT / "docker-compose.yml").read_text()

    assert re.search(r"REKAM_ADMIN_TOKEN: \$\{REKAM_ADMIN_TOKEN:\?", document)


def test_compose_and_dockerfile_agree_on_the_command():
    (cmd,) = instruction("CMD")

    assert compose()["services"]["app"]["command"] == exec_form(cmd)
