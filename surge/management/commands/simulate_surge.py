"""``manage.py simulate_surge --plan plan.json``: play a planned day (e.g. Double 11) with the real routing and
deadlines, and print the hourly table, the totals and the staff needed (surge.simulation). Writes nothing.

A sample plan: surge/simulation/plans/double11.json (docs/surge-planning.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surge.simulation.files import plan_mapping_read
from surge.simulation.plan import PlanError, plan_from_mapping
from surge.simulation.report import simulation_dict, simulation_table
from surge.simulation.run import plan_simulate


class Command(BaseCommand):
    help = "Play a surge plan forward with the real routing and deadlines: backlog, breaches and staff needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", type=Path, required=True, help="The plan (.json, .yaml or .csv).")
        parser.add_argument("--seed", type=int, help="Seed of the random arrivals (default: the plan's).")
        parser.add_argument("--format", choices=("table", "json"), default="table")
        parser.add_argument("--no-search", action="store_true", help="Play the planned staff only.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["plan"]
        try:
            raw = plan_mapping_read(path)
            if options["seed"] is not None:
                raw["seed"] = options["seed"]
            plan = plan_from_mapping(raw)
            sim = plan_simulate(plan, search=not options["no_search"])
        except PlanError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(simulation_dict(sim), ensure_ascii=False, indent=1))
        else:
            self.stdout.write(simulation_table(sim))
