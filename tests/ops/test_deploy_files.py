"""The deployment files in deploy/ and at the root say what kefu needs, and pass kefu's own deploy checks."""

from __future__ import annotations

import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography.fernet import Fernet
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def example_env() -> dict[str, str]:
    pairs = {}
    for line in (REPO / "deploy" / "kefu.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def test_the_example_env_passes_check_deploy_once_its_secret_is_set() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KEFU_", "DATABASE_", "CELERY_", "CACHE_"))
    }
    env.update(example_env())
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(64)
    env["KEFU_CONNECTOR_KEY"] = Fernet.generate_key().decode()
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_the_example_env_refuses_to_start_with_its_placeholder_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KEFU_"))}
    env.update(example_env())
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "DJANGO_SECRET_KEY" in run.stderr


def test_every_variable_of_the_example_is_a_setting_kefu_reads() -> None:
    read = set(ENV_READ.findall("".join(p.read_text() for p in (REPO / "kefu" / "settings").glob("*.py"))))
    assert set(example_env()) - read == set()


def test_compose_runs_web_worker_and_one_beat_after_migrating() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"] == ".env.production"
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert "deploy" not in services["beat"] or services["beat"]["deploy"].get("replicas", 1) == 1


def test_gunicorn_config_loads_and_the_units_run_the_same_commands() -> None:
    config = runpy.run_path(str(REPO / "deploy" / "gunicorn.conf.py"))
    assert config["worker_class"] == "sync" and config["timeout"] >= 30
    web = (REPO / "deploy" / "systemd" / "kefu-web.service").read_text()
    assert "gunicorn -c deploy/gunicorn.conf.py kefu.wsgi" in web
    assert "celery -A kefu beat" in (REPO / "deploy" / "systemd" / "kefu-beat.service").read_text()
    assert "celery -A kefu worker" in (REPO / "deploy" / "systemd" / "kefu-worker.service").read_text()


def test_nginx_body_limit_matches_kefus() -> None:
    conf = (REPO / "deploy" / "nginx" / "kefu.conf").read_text()
    limit = int(re.search(r"client_max_body_size (\d+)m;", conf).group(1)) * 1024 * 1024
    assert limit == settings.KEFU_REQUEST_MAX_BYTES
    assert "location /media/" in conf and "return 404" in conf
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
