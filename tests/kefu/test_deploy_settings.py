"""Production settings: DEBUG is off unless asked for, a bad secret key stops the process, and ``check --deploy``
names every part of the demo's one-machine setup that a real shop must replace (kefu.W001 …)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from kefu.checks import longest_countdown
from kefu.core.secret_key import DEVELOPMENT_SECRET_KEY, secret_key_problem

REPO = settings.BASE_DIR
BENCH_KEY = "bench-kefu-not-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
GOOD_KEY = "p7Q-x2Lk9vR_aT4mZ8cN1wE5yH3bJ6gU0sD-fK7qW2rV9tX4nM8pL1zC5hB3jG6"

# The production configuration docs/operations.md documents (hosts are placeholders: `check` connects to none).
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": GOOD_KEY,
    "DJANGO_ALLOWED_HOSTS": "kefu.example.com",
    "DATABASE_URL": "postgres://kefu:password@db.internal:5432/kefu",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "EMAIL_URL": "smtp+tls://kefu:password@smtp.example.com:587",
    "KEFU_SMS_PROVIDER": "notifications.channels.sms_aliyun.AliyunSmsProvider",
    "KEFU_EVIDENCE_PRIVATE_SERVING": "true",
    # The marketplace connections' secrets get a Fernet key of their own (connectors.checks).
    "KEFU_CONNECTOR_KEY": "a2VmdS1jb25uZWN0b3JzLWtleS1mb3ItdGhlLXRlc3Q=",
    # Where buyers open the satisfaction link (kefu.W010).
    "KEFU_PUBLIC_BASE_URL": "https://kefu.example.com",
}
# What a shell may have set that would change the outcome.
CLEARED = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "KEFU_SMS_PROVIDER",
    "KEFU_EVIDENCE_PRIVATE_SERVING",
    "KEFU_CONNECTOR_KEY",
    "KEFU_OUTBOUND_ALLOW_PRIVATE",
    "KEFU_PUBLIC_BASE_URL",
    "CELERY_VISIBILITY_TIMEOUT",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a fresh process with kefu.settings (as production runs it) and only ``env`` set."""
    base = {name: value for name, value in os.environ.items() if name not in CLEARED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, "KEFU_VAR_DIR": str(REPO / "var"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def kefu_ids(output: str) -> set[str]:
    return {word.strip("():") for word in output.split() if word.startswith("(kefu.")}


# -- the secret key ------------------------------------------------------------------------------------------


def test_without_djangos_debug_variable_debug_is_off_and_a_missing_key_stops_the_process() -> None:
    result = manage("check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY is not set" in result.stderr, result.stderr
    assert "DJANGO_DEBUG=true" in result.stderr  # and how to develop instead


def test_every_command_names_the_missing_key_rather_than_failing_further_on() -> None:
    """Django's runner sets a settings error aside: makemigrations used to stop on "Models aren't loaded yet"."""
    result = manage("makemigrations", "--check", "--dry-run")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr and "AppRegistryNotReady" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "not set"),
        ("Zq8-x", "5 characters long"),
        ("k3" * 30, "only 2 distinct characters"),
        (DEVELOPMENT_SECRET_KEY, "published development key"),
        ("django-insecure-" + GOOD_KEY, "published development key"),
        ("ChangeMe-" + GOOD_KEY, "placeholder 'changeme'"),
        (GOOD_KEY[:20] + "-your_secret_key-" + GOOD_KEY[20:], "placeholder 'yoursecretkey'"),
    ],
    ids=["missing", "short", "low-variety", "development-key", "django-insecure", "changeme", "placeholder"],
)
def test_a_short_low_variety_or_published_key_is_refused(key: str, why: str) -> None:
    problem = secret_key_problem(key)

    assert problem is not None and why in problem and "DJANGO_SECRET_KEY" in problem


@pytest.mark.parametrize("key", [GOOD_KEY, BENCH_KEY])
def test_a_long_varied_key_is_accepted_even_when_it_says_secret(key: str) -> None:
    assert secret_key_problem(key) is None


def test_a_bad_key_stops_the_process_and_a_good_one_starts_it() -> None:
    refused = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    started = manage(
        "shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)", DJANGO_SECRET_KEY=BENCH_KEY
    )

    assert refused.returncode != 0 and "published development key" in refused.stderr, refused.stderr
    assert started.returncode == 0, started.stderr
    assert "DEBUG False" in started.stdout


def test_development_with_debug_on_needs_no_key() -> None:
    result = manage(
        "shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)", DJANGO_DEBUG="true"
    )

    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout


# -- check --deploy ------------------------------------------------------------------------------------------


def test_check_deploy_on_the_demo_settings_names_each_one_machine_part() -> None:
    result = manage("check", "--deploy", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=GOOD_KEY)

    assert kefu_ids(result.stderr + result.stdout) == {
        "kefu.W001",  # SQLite
        "kefu.W002",  # filesystem broker
        "kefu.W003",  # console SMS
        "kefu.W004",  # console email
        "kefu.W005",  # evidence on local disk, possibly published
        "kefu.W007",  # per-process cache
        "kefu.W010",  # the satisfaction links point at 127.0.0.1
    }, result.stderr


def test_check_deploy_on_the_documented_production_configuration_is_clean() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


def kefu_warnings() -> dict[str, str]:
    return {m.id: f"{m.msg} {m.hint}" for m in run_checks(include_deployment_checks=True) if m.id.startswith("kefu.")}


def test_private_outbound_targets_allowed_is_reported() -> None:
    with override_settings(KEFU_OUTBOUND_ALLOW_PRIVATE=True):
        found = kefu_warnings()
    assert "kefu.W006" in found and "KEFU_OUTBOUND_ALLOW_PRIVATE" in found["kefu.W006"]
    with override_settings(KEFU_OUTBOUND_ALLOW_PRIVATE=False):
        assert "kefu.W006" not in kefu_warnings()


def test_a_public_address_only_this_machine_knows_is_reported() -> None:
    with override_settings(KEFU_PUBLIC_BASE_URL="http://127.0.0.1:8000"):
        found = kefu_warnings()
    assert "kefu.W010" in found and "KEFU_PUBLIC_BASE_URL" in found["kefu.W010"]
    with override_settings(KEFU_PUBLIC_BASE_URL="https://kefu.example.com"):
        assert "kefu.W010" not in kefu_warnings()


def test_a_visibility_timeout_below_the_longest_retry_delay_is_reported() -> None:
    redis = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    # A notification's retry waits up to 1.2 x KEFU_NOTIFY_RETRY_MAX_SECONDS (jitter): 3600 s is not enough.
    with override_settings(
        **redis, KEFU_NOTIFY_RETRY_MAX_SECONDS=3600.0, CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 3600}
    ):
        assert longest_countdown() == pytest.approx(4320)
        found = kefu_warnings()
    assert "kefu.W008" in found and "CELERY_VISIBILITY_TIMEOUT" in found["kefu.W008"]
    with override_settings(
        **redis, KEFU_NOTIFY_RETRY_MAX_SECONDS=3600.0, CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 7200}
    ):
        assert "kefu.W008" not in kefu_warnings()


def test_the_development_settings_are_quiet_without_deploy() -> None:
    assert not [m for m in run_checks() if m.id.startswith("kefu.")]


def test_the_payment_gateway_setting_of_before_issue_14_is_named_when_still_set() -> None:
    result = manage("check", KEFU_PAYMENT_GATEWAY="tickets.payments.ManualRefundGateway", DJANGO_DEBUG="true")

    assert "kefu.W009" in result.stderr + result.stdout
    assert "KEFU_PAYMENT_GATEWAYS" in result.stderr + result.stdout
