"""Configuration snapshots (kefu.core.config_cache): read once per process, reloaded when the configuration changes
here (at once), elsewhere (through the shared cache, within KEFU_CONFIG_CHECK_SECONDS), and in any case after
KEFU_CONFIG_MAX_AGE_SECONDS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.core import config_cache
from kefu.core.config_cache import ConfigSnapshot
from routing.config import routing_config
from routing.models import DeadlinePolicy, Department, RoutingRule
from tests.markers import requires_redis

pytestmark = pytest.mark.django_db


def rule_names(snapshot=routing_config) -> list[str]:
    return [rule.name for rule in snapshot.get().rules]


@pytest.fixture
def clock(monkeypatch):
    """The snapshots' monotonic clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(config_cache.time, "monotonic", lambda: now[0])
    return now


def make_rule(name: str, **fields) -> RoutingRule:
    department, _ = Department.objects.get_or_create(code="desk", defaults={"name": "Desk"})
    return RoutingRule.objects.create(name=name, kind="return", department=department, **fields)


def test_read_once_then_from_memory():
    make_rule("vip")
    assert rule_names() == ["vip"]
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert rule_names() == ["vip"]
    assert len(queries) == 0


def test_a_change_in_this_process_is_seen_at_once():
    rule = make_rule("vip")
    assert rule_names() == ["vip"]
    make_rule("bulk", position=200)
    assert rule_names() == ["vip", "bulk"]
    rule.active = False
    rule.save()
    assert rule_names() == ["bulk"]
    RoutingRule.objects.get(name="bulk").delete()
    assert rule_names() == []


def test_a_policy_a_rule_names_is_not_a_general_policy():
    lane = DeadlinePolicy.objects.create(name="VIP lane", kind="return", state="requested", duration=timedelta(hours=2))
    assert routing_config.get().policies[("return", "requested")] == (lane,)
    make_rule("vip", deadline_policy=lane)  # saving the rule reloads: the policy is now that rule's lane only
    assert ("return", "requested") not in routing_config.get().policies


def test_another_process_change_is_seen_after_the_check_interval(settings, clock, django_capture_on_commit_callbacks):
    """Two snapshots of one name stand for two processes sharing the cache."""
    settings.KEFU_CONFIG_CHECK_SECONDS = 1.0
    settings.KEFU_CONFIG_MAX_AGE_SECONDS = 3600.0
    here = routing_config
    there = ConfigSnapshot("routing", routing_config._load, watch=())
    try:
        make_rule("vip")
        assert rule_names(here) == rule_names(there) == ["vip"]
        with django_capture_on_commit_callbacks(execute=True):
            make_rule("bulk", position=200)  # saved "here": committed, the version in the cache moves
        assert rule_names(here) == ["vip", "bulk"]
        assert rule_names(there) == ["vip"]  # within the check interval: still its copy
        clock[0] += 1.5
        assert rule_names(there) == ["vip", "bulk"]
    finally:
        config_cache._snapshots.remove(there)


def test_the_version_moves_only_when_the_change_commits(django_capture_on_commit_callbacks):
    key = routing_config._key
    caches["default"].delete(key)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_rule("vip")
    assert caches["default"].get(key) is None  # not yet committed: other processes must not reload yet
    for callback in callbacks:
        callback()
    assert caches["default"].get(key) is not None


def test_without_a_shared_signal_a_snapshot_is_reloaded_after_its_max_age(settings, clock):
    settings.KEFU_CONFIG_CHECK_SECONDS = 1.0
    settings.KEFU_CONFIG_MAX_AGE_SECONDS = 60.0
    make_rule("vip")
    assert rule_names() == ["vip"]
    RoutingRule.objects.filter(name="vip").update(name="renamed")  # no signal, no version: as if unseen
    clock[0] += 30
    assert rule_names() == ["vip"]
    clock[0] += 31
    assert rule_names() == ["renamed"]


def test_a_cache_outage_reloads_instead_of_failing(settings, clock, monkeypatch):
    settings.KEFU_CONFIG_CHECK_SECONDS = 0.0
    make_rule("vip")
    assert rule_names() == ["vip"]

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(config_cache.cache, "get", down)
    monkeypatch.setattr(config_cache.cache, "set", down)
    RoutingRule.objects.filter(name="vip").update(name="renamed")
    clock[0] += 0.1
    assert rule_names() == ["renamed"]
    make_rule("bulk", position=200)  # publishing fails quietly (logged); this process still sees it
    assert rule_names() == ["renamed", "bulk"]


@requires_redis
def test_processes_share_the_version_through_redis(settings, clock, django_capture_on_commit_callbacks):
    """The same as above through a real Redis cache (production's CACHE_URL)."""
    from tests.markers import redis_url

    url = redis_url().rsplit("/", 1)[0] + "/15"
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
    }
    settings.KEFU_CONFIG_CHECK_SECONDS = 1.0
    settings.KEFU_CONFIG_MAX_AGE_SECONDS = 3600.0
    caches["default"].delete(routing_config._key)
    there = ConfigSnapshot("routing", routing_config._load, watch=())
    try:
        make_rule("vip")
        assert rule_names(there) == ["vip"]
        with django_capture_on_commit_callbacks(execute=True):
            make_rule("bulk", position=200)
        assert isinstance(caches["default"].get(routing_config._key), int)
        clock[0] += 1.5
        assert rule_names(there) == ["vip", "bulk"]
    finally:
        config_cache._snapshots.remove(there)
        caches["default"].delete(routing_config._key)


def test_department_emails_follow_duty_membership_and_accounts():
    from django.contrib.auth import get_user_model

    from notifications.config import staff_emails
    from notifications.services import department_recipients
    from routing.models import StaffMember
    from routing.services import staff_set_on_duty

    desk, _ = Department.objects.get_or_create(code="desk", defaults={"name": "Desk"})
    user = get_user_model().objects.create_user("lin", email="lin@example.com")
    member = StaffMember.objects.create(user=user, on_duty=True)

    def emails() -> list[str]:
        return [r.address for r in department_recipients("desk")]

    assert emails() == []
    member.departments.add(desk)  # m2m: the snapshot reloads
    assert emails() == ["lin@example.com"]
    staff_set_on_duty(user=user, on_duty=False)
    assert emails() == []
    staff_set_on_duty(user=user, on_duty=True)
    user.email = "lin@shop.example.com"
    user.save()
    assert emails() == ["lin@shop.example.com"]
    member.departments.remove(desk)
    assert emails() == [] and staff_emails.get().get("desk") is None


def test_assignment_follows_duty_and_skips_the_lock_where_nobody_is_on_duty(clock):
    """Assignment reads who is on duty from a snapshot: nobody on duty is no query at all; a member put on duty
    here is assigned at once; a change seen only through the database (another process's, which publishes
    through the shared cache) is picked up after KEFU_CONFIG_MAX_AGE_SECONDS at the latest."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from routing.config import departments_on_duty
    from routing.models import StaffMember
    from routing.services import assignee_pick, staff_set_on_duty
    from tickets.selectors import ticket_workload

    desk, _ = Department.objects.get_or_create(code="desk", defaults={"name": "Desk"})
    user = get_user_model().objects.create_user("mei")
    member = StaffMember.objects.create(user=user, on_duty=False)
    member.departments.add(desk)

    def pick():
        with transaction.atomic():
            return assignee_pick("desk", workload=ticket_workload)

    assert pick() is None
    with CaptureQueriesContext(connection) as queries:
        assert pick() is None
    assert [q["sql"] for q in queries if "routing_staffmember" in q["sql"]] == []

    staff_set_on_duty(user=user, on_duty=True)
    assert pick() == user

    StaffMember.objects.filter(pk=member.pk).update(on_duty=False)  # no signal: as if another process did it
    assert pick() is None  # the snapshot still says on duty: the members are read (locked), nobody is found

    staff_set_on_duty(user=user, on_duty=True)
    staff_set_on_duty(user=user, on_duty=False)  # saved here: the snapshot forgets the desk at once
    assert "desk" not in departments_on_duty.get()
    StaffMember.objects.filter(pk=member.pk).update(on_duty=True)  # another process: unseen here …
    assert pick() is None
    clock[0] += settings.KEFU_CONFIG_MAX_AGE_SECONDS + 1  # … until the snapshot's age runs out
    assert pick() == user
