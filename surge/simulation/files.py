"""A plan read from a file: JSON, YAML (``.yaml``/``.yml``) or CSV, by its name's ending.

JSON and YAML hold the mapping surge.simulation.plan.plan_from_mapping reads. A CSV file is one row per item,
the first cell saying what it is, e.g.::

    what,name,values…
    setting,start,2026-11-11
    setting,arrivals,poisson                 (also days, time_zone, seed, breach_target, name, after_hours)
    arrivals,return,1400,1000,600,…          (24 counts: one per hour; or one per hour of the plan)
    total,complaint,8000,double11            (a total and a profile)
    staff,operations,12                      (one number: every hour; or 24 / one per hour)
    handling,return.requested,4              (minutes; "return" alone: every step of the kind)
    path,complaint,open                      (the states played for the kind's streams; default: paths.py)
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from surge.simulation.plan import PlanError

_SETTINGS = ("start", "days", "time_zone", "arrivals", "seed", "breach_target", "name", "after_hours")


def plan_mapping_read(path: Path) -> dict[str, Any]:
    """The plan mapping in the file at ``path``; raises PlanError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PlanError(f"{path}: {exc.strerror}.") from None
    return plan_mapping_parse(text, path.suffix.lower())


def plan_mapping_parse(text: str, suffix: str) -> dict[str, Any]:
    if suffix == ".csv":
        return _csv_mapping(text)
    try:
        raw = yaml.safe_load(text) if suffix in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PlanError(f"The plan cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise PlanError("A plan is a mapping (a JSON object).")
    return raw


def _csv_mapping(text: str) -> dict[str, Any]:
    plan: dict[str, Any] = {"streams": [], "staff": {}, "handling_minutes": {}}
    paths: dict[str, list[str]] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells or cells[0].startswith("#") or cells[0] == "what":
            continue
        if len(cells) < 3:
            raise PlanError(f"CSV line {number}: expected what, name and at least one value.")
        what, name, values = cells[0], cells[1], cells[2:]
        if what == "setting" and name in _SETTINGS:
            plan[name] = values[0]
        elif what == "arrivals":
            plan["streams"].append({"kind": name, "hourly": values if len(values) > 1 else values[0]})
        elif what == "total":
            plan["streams"].append(
                {"kind": name, "total": values[0], "profile": values[1] if len(values) > 1 else "flat"}
            )
        elif what == "staff":
            plan["staff"][name] = values if len(values) > 1 else values[0]
        elif what == "handling":
            kind, _dot, state = name.partition(".")
            if state:
                plan["handling_minutes"].setdefault(kind, {})[state] = values[0]
            else:
                plan["handling_minutes"][kind] = values[0]
        elif what == "path":
            paths[name] = values
        else:
            raise PlanError(
                f"CSV line {number}: '{what},{name}' is not a setting, arrivals, total, staff, handling or path."
            )
    for stream in plan["streams"]:
        if stream["kind"] in paths:
            stream["path"] = paths[stream["kind"]]
    return plan
