"""What a deployment gets from the repository: docker-compose.yml, the Dockerfile and the
settings with DEBUG off. No secret may have a default anyone can read here, the sandbox
provider (it pays without money) is off unless asked for, and `check --deploy` is clean.

Settings are read once per process, so each case imports them in a subprocess with exactly
the environment a deployment would give it (none of the test run's own variables).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# Names of variables that hold secrets (a signing key, a password, an API key or secret).
SECRET_NAME = re.compile(r"SECRET|PASSWORD|API_KEY|TOKEN", re.I)
# Secrets the stack cannot run without: compose must refuse to start until they are given.
REQUIRED_SECRETS = {"SECRET_KEY", "POSTGRES_PASSWORD"}
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ...
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x9Tq2vLr8ZpW4mKc7NbY1sFh6DjG3aQe5RuVt0XoIw-_PlEkZ7cB",
    "DATABASE_URL": "postgres://bazaar:pw@db.internal:5432/bazaar",
    "ALLOWED_HOSTS": "shop.example.com",
}


def interpolate(text: str, environment: dict[str, str]) -> str:
    """docker compose's variable substitution (the forms this project uses)."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        value = environment.get(name)
        unset_or_empty = not value if op.startswith(":") else value is None
        if op.endswith("?") and unset_or_empty:
            raise LookupError(f"{name}: {arg}")
        if op.endswith("-") and unset_or_empty:
            return arg
        return value or ""

    return INTERPOLATION.sub(substitute, text)


def compose(environment: dict[str, str]) -> dict:
    """docker-compose.yml as compose reads it: parsed, then its strings interpolated."""

    def walk(node):
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return interpolate(node, environment) if isinstance(node, str) else node

    return walk(yaml.safe_load(COMPOSE.read_text()))


def settings_in_subprocess(environment: dict[str, str]) -> dict:
    """Some settings as a process started with only `environment` reads them."""
    code = """
import json, django
django.setup()
from django.conf import settings
from payments.providers import PROVIDERS
print(json.dumps({
    "SECRET_KEY": settings.SECRET_KEY,
    "SANDBOX_ENABLED": settings.SANDBOX_ENABLED,
    "sandbox_offered": PROVIDERS["sandbox"].is_configured(),
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "TRUSTED_PROXY_COUNT": settings.TRUSTED_PROXY_COUNT,
    "EMAIL_TIMEOUT": settings.EMAIL_TIMEOUT,
}))
"""
    result = _run([sys.executable, "-c", code], environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _run(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
        **environment,
    }
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# --- docker-compose.yml ------------------------------------------------------------------


def test_compose_refuses_to_start_without_each_required_secret():
    given = {name: "s3cret-value-long-enough-0123456789" for name in REQUIRED_SECRETS}
    compose(given)  # everything given: it starts
    for name in REQUIRED_SECRETS:
        with pytest.raises(LookupError, match=name):
            compose({other: value for other, value in given.items() if other != name})
        with pytest.raises(LookupError, match=name):
            compose({**given, name: ""})


def test_no_secret_in_compose_has_a_default():
    text = COMPOSE.read_text()
    for match in INTERPOLATION.finditer(text):
        if not SECRET_NAME.search(match["name"]):
            continue
        where = match[0]
        if match["name"] in REQUIRED_SECRETS:
            assert match["op"] == ":?", f"{where}: must be required (${{NAME:?message}})"
        else:
            # An optional integration's secret: unset means the integration is off.
            assert match["op"] in (":?", ":-", "-", None), where
            assert match["op"] == ":?" or match["arg"] == "", f"{where}: a default secret"
    # Nor a secret written out as a plain value.
    for service in compose({name: "x" for name in REQUIRED_SECRETS})["services"].values():
        environment = service.get("environment") or {}
        for name in environment:
            if SECRET_NAME.search(name):
                raw = re.search(rf"^\s*{name}:\s*(.+)$", text, re.M)
                assert raw and raw[1].startswith("${"), f"{name} is written out in compose"


def test_compose_runs_without_debug_and_without_the_sandbox():
    stack = compose({name: "x" for name in REQUIRED_SECRETS})
    for name in ("web", "worker", "beat"):
        environment = stack["services"][name]["environment"]
        assert environment["DEBUG"] == "false"
        assert environment["SANDBOX_ENABLED"] == "false"
        assert environment["SANDBOX_WEBHOOK_SECRET"] == ""
        assert environment["TRUSTED_PROXY_COUNT"] == "0"


def test_compose_environment_gives_a_process_without_the_sandbox_or_a_known_key():
    secret = "given-at-deploy-time-0123456789abcdefghijklmnopqrstuvwxyz"
    stack = compose({"SECRET_KEY": secret, "POSTGRES_PASSWORD": "pw"})
    environment = {k: str(v) for k, v in stack["services"]["web"]["environment"].items()}

    settings = settings_in_subprocess(environment)

    assert settings["SECRET_KEY"] == secret
    assert settings["sandbox_offered"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] is None  # no proxy is configured


def test_compose_health_checks_use_the_probes_and_metrics_stay_off_until_a_token_is_set():
    stack = compose({name: "x" for name in REQUIRED_SECRETS})
    web, worker = stack["services"]["web"], stack["services"]["worker"]

    assert "http://127.0.0.1:8000/readyz" in " ".join(web["healthcheck"]["test"])
    assert web["environment"]["METRICS_TOKEN"] == ""
    assert web["environment"]["LOG_FORMAT"] == "json"
    # The worker serves its metrics on the compose network only: the port is not published.
    port = worker["environment"]["METRICS_WORKER_PORT"]
    assert f"127.0.0.1:{port}/metrics" in " ".join(worker["healthcheck"]["test"])
    assert "ports" not in worker


def test_the_dockerfile_sets_no_secret_for_the_running_image():
    text = DOCKERFILE.read_text()
    env_lines = re.findall(r"^ENV\s+(.+?)(?<!\\)$", text, re.M | re.S)
    for line in env_lines:
        assert not SECRET_NAME.search(line), f"ENV with a secret: {line}"
    # The key collectstatic needs to import settings is the build step's own, not the image's.
    assert "ARG SECRET_KEY" not in text


# --- settings with DEBUG off --------------------------------------------------------------


def test_production_settings_default_to_no_sandbox_and_no_proxy_header():
    settings = settings_in_subprocess(
        {**PRODUCTION_ENV, "SANDBOX_WEBHOOK_SECRET": "left-over-from-a-demo"}
    )

    assert settings["SANDBOX_ENABLED"] is False
    assert settings["sandbox_offered"] is False
    assert settings["TRUSTED_PROXY_COUNT"] == 0
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
    assert settings["EMAIL_TIMEOUT"] == 10


def test_the_sandbox_and_the_proxy_header_are_switched_on_explicitly():
    settings = settings_in_subprocess(
        {
            **PRODUCTION_ENV,
            "SANDBOX_ENABLED": "true",
            "SANDBOX_WEBHOOK_SECRET": "demo-secret",
            "TRUSTED_PROXY_COUNT": "1",
        }
    )

    assert settings["sandbox_offered"] is True
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_settings_need_a_secret_key():
    environment = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run([sys.executable, "-c", "import django; django.setup()"], environment)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings():
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        PRODUCTION_ENV,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_check_deploy_flags_the_sandbox_switched_on_in_production():
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**PRODUCTION_ENV, "SANDBOX_ENABLED": "true", "SANDBOX_WEBHOOK_SECRET": "demo"},
    )

    assert result.returncode != 0
    assert "payments.W001" in result.stderr
