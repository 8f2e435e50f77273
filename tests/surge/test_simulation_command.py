"""``manage.py simulate_surge``: a plan file (JSON, YAML or CSV) played and printed as a table or JSON; the sample
Double 11 plan shipped with the code plays."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[2] / "surge" / "simulation" / "plans" / "double11.json"

# One person in operations, 12 complaints in the first hour at 10 minutes each, due within 2 hours (the SLA of a
# complaint's first answer): the i-th (arriving at 2.5 + 5 i) is done at 12.5 + 10 i, due at 122.5 + 5 i: on time.
# 24 in the first hour: the i-th (arriving at 1.25 + 2.5 i) is done at 11.25 + 10 i, due at 121.25 + 2.5 i: late
# from i = 15 on, nine breaches.
PLAN = {
    "name": "small day",
    "start": "2026-11-11",
    "arrivals": "even",
    "after_hours": 24,
    "streams": [{"kind": "complaint", "hourly": [24] + [0] * 23, "path": ["open"]}],
    "staff": {"operations": 1},
    "handling_minutes": {"complaint": 10},
}

YAML = """
name: small day
start: 2026-11-11
arrivals: even
after_hours: 24
streams:
  - kind: complaint
    hourly: [24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    path: [open]
staff:
  operations: 1
handling_minutes:
  complaint: 10
"""

CSV = """what,name,values
setting,start,2026-11-11
setting,arrivals,even
setting,after_hours,24
setting,name,small day
arrivals,complaint,24,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
staff,operations,1
handling,complaint,10
path,complaint,open
"""


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("simulate_surge", "--plan", str(path), *args, stdout=out)
    return out.getvalue()


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_table_shows_each_hour_the_totals_and_the_staff_needed(tmp_path):
    text = run(written(tmp_path, "plan.json", json.dumps(PLAN)))

    lines = text.splitlines()
    assert lines[0].split()[:4] == ["hour", "arrived", "breaches", "operations"]
    first = lines[1].split()
    assert first[:3] == ["11-11", "00:00", "24"]
    assert "With the planned staff: 9 breaches" in text
    assert "operations: 24 handled, 9 breaches" in text
    assert "Staff needed for at most 0 breaches (reached" in text
    assert "(+1)" in text  # one more person in the first hour (or the second) answers every complaint in time


def test_json_output_has_the_hourly_figures_and_the_staff_needed(tmp_path):
    data = json.loads(run(written(tmp_path, "plan.json", json.dumps(PLAN)), "--format", "json"))

    assert data["tickets"] == 24 and data["departments"] == ["operations"]
    assert data["planned"]["total_breaches"] == 9
    assert data["planned"]["arrivals"][:2] == [24, 0]
    assert data["needed"]["total_breaches"] == 0 and data["needed"]["reached"] is True
    assert sum(data["needed"]["staff"]["operations"][:3]) > 3
    assert data["hours"][0] == "2026-11-11T00:00:00+08:00"


@pytest.mark.parametrize(("name", "text"), [("plan.yaml", YAML), ("plan.csv", CSV)])
def test_yaml_and_csv_plans_say_the_same_as_json(tmp_path, name, text):
    expected = json.loads(run(written(tmp_path, "plan.json", json.dumps(PLAN)), "--format", "json"))
    found = json.loads(run(written(tmp_path, name, text), "--format", "json"))

    for key in ("tickets", "planned", "needed", "hours", "name"):
        assert found[key] == expected[key], key


def test_the_seed_option_changes_random_arrivals(tmp_path):
    path = written(tmp_path, "plan.json", json.dumps({**PLAN, "arrivals": "poisson", "seed": 1}))
    one = json.loads(run(path, "--format", "json", "--no-search"))
    same = json.loads(run(path, "--format", "json", "--no-search", "--seed", "1"))
    other = json.loads(run(path, "--format", "json", "--no-search", "--seed", "2"))

    assert one["planned"]["arrivals"] == same["planned"]["arrivals"]
    assert other["seed"] == 2 and other["planned"] != one["planned"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"streams": [{"kind": "refund", "total": 5}]}, "'refund' is not one of"),
        ({"staff": {"operations": [1, 2, 3]}}, "staff.operations: 3 values"),
        ({"streams": [{"kind": "return", "total": 5, "path": ["nowhere"]}]}, "'nowhere' is not a state"),
    ],
)
def test_a_wrong_plan_says_where(tmp_path, change, message):
    with pytest.raises(CommandError, match=message):
        run(written(tmp_path, "plan.json", json.dumps({**PLAN, **change})))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "nothing.json")


def test_the_sample_double_11_plan_plays(tmp_path):
    data = json.loads(run(SAMPLE, "--format", "json", "--no-search"))

    assert 45_000 < data["tickets"] < 55_000
    assert set(data["departments"]) >= {"operations", "warehouse", "logistics"}
    assert data["planned"]["arrivals"][0] > data["planned"]["arrivals"][5]  # the midnight peak


@pytest.mark.parametrize("language", ["json", "csv"])
def test_the_plan_examples_in_the_docs_play(tmp_path, language):
    doc = (SAMPLE.parents[3] / "docs" / "surge-planning.md").read_text(encoding="utf-8")
    block = re.search(rf"```{language}\n(.*?)```", doc, re.DOTALL)
    assert block, language
    data = json.loads(run(written(tmp_path, f"plan.{language}", block.group(1)), "--format", "json", "--no-search"))

    assert data["tickets"] > 20_000
    assert "operations" in data["departments"] and "warehouse" in data["departments"]
