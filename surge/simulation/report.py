"""A simulation as figures: per hour (arrivals, handled, backlog per department, breaches), totals, staff needed;
as a mapping (the command's ``--format json``) or a plain-text table (its default)."""

from __future__ import annotations

from typing import Any

from surge.simulation.engine import Outcome
from surge.simulation.plan import hour_start
from surge.simulation.run import Simulation


def _outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "arrivals": outcome.arrivals,
        "handled": outcome.handled,
        "backlog": outcome.backlog,
        "breaches": outcome.breaches,
        "breaches_per_hour": outcome.breaches_per_hour,
        "total_breaches": outcome.total_breaches,
        "open_at_end": outcome.open_at_end,
    }


def simulation_dict(sim: Simulation) -> dict[str, Any]:
    plan = sim.plan
    return {
        "name": plan.name,
        "start": plan.start.isoformat(),
        "hours": [hour_start(plan, h).isoformat() for h in range(plan.hours)],
        "arrivals_mode": plan.arrivals,
        "seed": plan.seed,
        "tickets": sim.arrivals,
        "departments": sim.outcome.departments,
        "planned": {"staff": {c: list(plan.staff.get(c, [0] * plan.hours)) for c in sim.outcome.departments}}
        | _outcome_dict(sim.outcome),
        "needed": {"staff": sim.needed, "breach_target": plan.breach_target, "reached": sim.reached}
        | _outcome_dict(sim.needed_outcome),
        "seconds": round(sim.seconds, 3),
    }


def simulation_table(sim: Simulation) -> str:
    """The hourly table with the plan's staff, the totals, and the staff needed per department and hour."""
    plan, outcome = sim.plan, sim.outcome
    codes = outcome.departments
    head = ["hour", "arrived", "breaches"]
    for code in codes:
        head += [f"{code} staff", "handled", "backlog"]
    rows = [head]
    for h in range(plan.hours):
        row = [hour_start(plan, h).strftime("%m-%d %H:00"), str(outcome.arrivals[h]), str(outcome.breaches_per_hour[h])]
        for code in codes:
            staff = plan.staff.get(code, [0] * plan.hours)[h]
            row += [str(staff), str(outcome.handled[code][h]), str(outcome.backlog[code][h])]
        rows.append(row)
    lines = _aligned(rows)
    lines.append("")
    lines.append(
        f"{plan.name or 'plan'}: {sim.arrivals} tickets from {plan.start.isoformat()} over {plan.hours} h "
        f"({plan.arrivals}, seed {plan.seed}); simulated in {sim.seconds:.2f} s, the staff search included"
    )
    lines.append(
        f"With the planned staff: {outcome.total_breaches} breaches, {outcome.open_at_end} steps open at the end"
    )
    for code in codes:
        lines.append(
            f"  {code}: {sum(outcome.handled[code])} handled, {sum(outcome.breaches[code])} breaches, "
            f"largest backlog {max(outcome.backlog[code], default=0)}"
        )
    needed = sim.needed_outcome
    verdict = "reached" if sim.reached else "NOT reached"
    lines.append("")
    lines.append(
        f"Staff needed for at most {plan.breach_target} breaches ({verdict}, {sim.rounds} rounds): "
        f"{needed.total_breaches} breaches, {needed.open_at_end} steps open at the end"
    )
    staff_rows = [["hour", *codes]]
    for h in range(plan.hours):
        planned = [plan.staff.get(c, [0] * plan.hours)[h] for c in codes]
        cells = [
            str(sim.needed[c][h]) + (f" (+{sim.needed[c][h] - p})" if sim.needed[c][h] > p else "")
            for c, p in zip(codes, planned, strict=True)
        ]
        staff_rows.append([hour_start(plan, h).strftime("%m-%d %H:00"), *cells])
    lines += _aligned(staff_rows)
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
