"""A surge plan: the day (or days) to play, the tickets expected per kind and hour, staff per department and hour,
and the minutes a person spends on each step. Built from a mapping (a JSON or YAML file, a CSV file through
surge.simulation.files, the admin page's form); :class:`PlanError` says what is wrong, in the user's words.

No database: shop names and departments are checked against the database by surge.simulation.desk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from surge.simulation.paths import DEFAULT_HANDLING_MINUTES, DEFAULT_PATHS, FALLBACK_HANDLING_MINUTES
from surge.simulation.profiles import PROFILES, profile_weights

POISSON = "poisson"
EVEN = "even"
ARRIVAL_MODES = (POISSON, EVEN)
MAX_DAYS = 14
DEFAULT_ZONE = "Asia/Shanghai"


class PlanError(ValueError):
    """The plan cannot be played; the message says where and why."""


@dataclass(frozen=True)
class Stream:
    """Tickets of one kind that look alike to routing: ``hourly`` arrivals expected in each hour of the plan.

    ``shop`` (a shop's code or id), ``channel``, ``reason_code``, ``complaint_category``, ``buyer_tier`` and
    ``amount`` are the facts routing rules and deadline policies match on; ``platform`` makes the tickets a
    marketplace's cases (their merchant steps then count kefu's internal clock). ``path`` is the states played
    (default: surge.simulation.paths), ``wait_minutes`` the time outside the desk before each next step.
    """

    kind: str
    hourly: tuple[float, ...]
    name: str = ""
    path: tuple[str, ...] = ()
    wait_minutes: tuple[float, ...] = ()
    shop: str = ""
    channel: str = ""
    reason_code: str = ""
    complaint_category: str = ""
    buyer_tier: str = ""
    amount: Decimal | None = None
    platform: str = ""


@dataclass(frozen=True)
class Plan:
    start: datetime  # aware: the first hour's beginning
    hours: int
    streams: tuple[Stream, ...]
    staff: dict[str, tuple[int, ...]]  # department code → people working in each hour of the plan
    handling: dict[tuple[str, str], float] = field(default_factory=dict)  # (kind, state) → minutes, plan's own
    arrivals: str = POISSON
    seed: int = 0
    breach_target: int = 0
    name: str = ""
    # After the last hour: the desk goes on without new tickets, with the last day's planned staff, this long
    # (until everything is done, if sooner), so the plan's tickets that breach after it count too.
    after_hours: int = 96

    def handling_minutes(self, kind: str, state: str) -> float:
        found = self.handling.get((kind, state))
        if found is None:
            found = self.handling.get((kind, "*"))
        if found is None:
            found = DEFAULT_HANDLING_MINUTES.get(kind, {}).get(state, FALLBACK_HANDLING_MINUTES)
        return found

    def path_of(self, stream: Stream) -> tuple[str, ...]:
        return stream.path or DEFAULT_PATHS[stream.kind]

    def staff_played(self, staff: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
        """``staff`` over the plan's hours and the hours after it (the last day's, hour for hour)."""
        played = {}
        for code, values in staff.items():
            last_day = list(values[-24:])
            played[code] = list(values) + [last_day[h % 24] for h in range(self.after_hours)]
        return played


def _number(value: Any, where: str, *, minimum: float = 0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"{where}: '{value}' is not a number.") from None
    if math.isnan(number) or math.isinf(number) or number < minimum:
        raise PlanError(f"{where}: {value} must be a number of at least {minimum:g}.")
    return number


def _per_hour(value: Any, hours: int, where: str) -> tuple[float, ...]:
    """A number (every hour the same), a list of 24 (each day alike) or a list of one per hour of the plan."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return (_number(value, where),) * hours
    if not isinstance(value, Sequence):
        raise PlanError(f"{where}: give a number or a list of numbers per hour.")
    values = [_number(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if len(values) == 24 and hours % 24 == 0:
        return tuple(values) * (hours // 24)
    if len(values) != hours:
        raise PlanError(f"{where}: {len(values)} values; give 24 (one day) or {hours} (one per hour of the plan).")
    return tuple(values)


def _start(value: Any, zone_name: str) -> datetime:
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        raise PlanError(f"time_zone: '{zone_name}' is not a time zone.") from None
    if isinstance(value, datetime):
        start = value
    else:
        try:
            start = datetime.fromisoformat(str(value))
        except ValueError:
            raise PlanError(
                f"start: '{value}' is not a date or time (e.g. 2026-11-11 or 2026-11-11T00:00+08:00)."
            ) from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    return start


def _stream(raw: Any, index: int, hours: int) -> Stream:
    where = f"streams[{index}]"
    if not isinstance(raw, Mapping):
        raise PlanError(f"{where}: expected a mapping with a kind and a total or hourly volume.")
    kind = str(raw.get("kind", ""))
    if kind not in DEFAULT_PATHS:
        raise PlanError(f"{where}.kind: '{kind}' is not one of {', '.join(DEFAULT_PATHS)}.")
    if "hourly" in raw:
        hourly = _per_hour(raw["hourly"], hours, f"{where}.hourly")
    elif "total" in raw:
        profile = str(raw.get("profile", "flat"))
        if profile not in PROFILES:
            raise PlanError(f"{where}.profile: '{profile}' is not one of {', '.join(PROFILES)}.")
        total = _number(raw["total"], f"{where}.total")
        hourly = tuple(total * w for w in profile_weights(profile, hours))
    else:
        raise PlanError(f"{where}: give 'total' (with a 'profile') or 'hourly'.")
    path = tuple(str(s) for s in raw.get("path", ()))
    waits_raw = raw.get("wait_minutes", ())
    waits = _per_step(waits_raw, len(path or DEFAULT_PATHS[kind]), f"{where}.wait_minutes")
    amount = None
    if raw.get("amount") not in (None, ""):
        try:
            amount = Decimal(str(raw["amount"]))
        except InvalidOperation:
            raise PlanError(f"{where}.amount: '{raw['amount']}' is not an amount.") from None
    return Stream(
        kind=kind,
        hourly=hourly,
        name=str(raw.get("name", "")),
        path=path,
        wait_minutes=waits,
        shop=str(raw.get("shop", "") or ""),
        channel=str(raw.get("channel", "") or ""),
        reason_code=str(raw.get("reason_code", "") or ""),
        complaint_category=str(raw.get("complaint_category", "") or ""),
        buyer_tier=str(raw.get("buyer_tier", "") or ""),
        amount=amount,
        platform=str(raw.get("platform", "") or ""),
    )


def _per_step(value: Any, steps: int, where: str) -> tuple[float, ...]:
    """Waits before steps 2…n: one number for all, or a list of ``steps - 1``."""
    if value in ((), [], None, ""):
        return (0.0,) * max(steps - 1, 0)
    if isinstance(value, (int, float, str)):
        return (_number(value, where),) * max(steps - 1, 0)
    values = tuple(_number(v, f"{where}[{i}]") for i, v in enumerate(value))
    if len(values) != steps - 1:
        raise PlanError(f"{where}: {len(values)} values for {steps} steps; give one per step after the first.")
    return values


def plan_from_mapping(raw: Mapping[str, Any]) -> Plan:
    """The plan a JSON/YAML document (or the admin's form) describes; raises :class:`PlanError`.

    Keys: ``start`` (date or time; default today 00:00 in ``time_zone``), ``days`` (1), ``streams``, ``staff``
    (department code → a number, 24 numbers or one per hour), ``handling_minutes`` (kind → minutes for every step
    or {state: minutes}), ``arrivals`` (``poisson`` or ``even``), ``seed``, ``breach_target``, ``name``,
    ``after_hours`` (96).
    """
    if not isinstance(raw, Mapping):
        raise PlanError("A plan is a mapping (a JSON object).")
    days = int(_number(raw.get("days", 1), "days", minimum=1))
    if days > MAX_DAYS:
        raise PlanError(f"days: at most {MAX_DAYS}.")
    hours = 24 * days
    zone = str(raw.get("time_zone", DEFAULT_ZONE))
    start = _start(raw.get("start") or datetime.now(ZoneInfo(zone)).date().isoformat(), zone)
    streams_raw = raw.get("streams") or []
    if not isinstance(streams_raw, Sequence) or not streams_raw:
        raise PlanError("streams: give at least one stream of tickets (a kind and its volume).")
    streams = tuple(_stream(s, i, hours) for i, s in enumerate(streams_raw))
    staff_raw = raw.get("staff") or {}
    if not isinstance(staff_raw, Mapping):
        raise PlanError("staff: a mapping of department code to people per hour.")
    staff = {
        str(code): tuple(int(round(v)) for v in _per_hour(value, hours, f"staff.{code}"))
        for code, value in staff_raw.items()
    }
    handling: dict[tuple[str, str], float] = {}
    for kind, value in (raw.get("handling_minutes") or {}).items():
        if kind not in DEFAULT_PATHS:
            raise PlanError(f"handling_minutes: '{kind}' is not one of {', '.join(DEFAULT_PATHS)}.")
        if isinstance(value, Mapping):
            for state, minutes in value.items():
                handling[(kind, str(state))] = _number(minutes, f"handling_minutes.{kind}.{state}", minimum=0.01)
        else:
            handling[(kind, "*")] = _number(value, f"handling_minutes.{kind}", minimum=0.01)
    arrivals = str(raw.get("arrivals", POISSON))
    if arrivals not in ARRIVAL_MODES:
        raise PlanError(f"arrivals: '{arrivals}' is not one of {', '.join(ARRIVAL_MODES)}.")
    return Plan(
        start=start,
        hours=hours,
        streams=streams,
        staff=staff,
        handling=handling,
        arrivals=arrivals,
        seed=int(_number(raw.get("seed", 0), "seed")),
        breach_target=int(_number(raw.get("breach_target", 0), "breach_target")),
        name=str(raw.get("name", "")),
        after_hours=int(_number(raw.get("after_hours", 96), "after_hours")),
    )


def hour_start(plan: Plan, hour: int) -> datetime:
    return plan.start + timedelta(hours=hour)
