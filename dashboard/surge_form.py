"""The surge planner's form (``/admin/dashboard/surge-plan/``): a day's volume per kind (a total and an hourly
profile), staff per department (flat or one number per hour), handling minutes per kind; turned into the plan
mapping surge.simulation.plan.plan_from_mapping reads, as a plan file would be."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.core.vocabulary import Kind
from surge.simulation.paths import DEFAULT_PATHS
from surge.simulation.plan import EVEN, POISSON
from surge.simulation.profiles import PROFILES

# What the page offers before anything is changed: a Double 11 of ~20,000 tickets (surge/simulation/plans/ has
# a larger sample for the command).
INITIAL_TOTALS = {"return": 10000, "exchange": 2500, "complaint": 2500, "logistics": 3000}
INITIAL_STAFF = {"operations": "30", "warehouse": "0×8, 30×11, 0×5", "logistics": "8", "supervisors": "2"}
MAX_TOTAL = 200_000


def staff_values(text: str) -> list[int] | int:
    """ "12" (every hour), "0,0,…" (24 numbers) or runs "0×8, 30×11, 0×5" (also "x" or "*")."""
    values: list[int] = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        for sign in ("×", "x", "X", "*"):
            if sign in part:
                number, _sign, times = part.partition(sign)
                values += [int(number)] * int(times)
                break
        else:
            values.append(int(part))
    if any(v < 0 for v in values):
        raise ValueError(text)
    return values[0] if len(values) == 1 else values


class SurgePlanForm(forms.Form):
    """One total and profile per kind, one staffing line per department, handling minutes per kind."""

    start = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=3, initial=1)
    arrivals = forms.ChoiceField(
        label=_("Arrivals"),
        choices=[(POISSON, _("Random (Poisson)")), (EVEN, _("Even (the same every time)"))],
        initial=POISSON,
    )
    seed = forms.IntegerField(label=_("Seed"), min_value=0, initial=11)
    breach_target = forms.IntegerField(label=_("Breaches allowed"), min_value=0, initial=0)

    def __init__(self, *args: Any, departments: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = departments
        self.fields["start"].initial = date.today()
        for kind in DEFAULT_PATHS:
            self.fields[f"total_{kind}"] = forms.IntegerField(
                label=Kind(kind).label, min_value=0, max_value=MAX_TOTAL, initial=INITIAL_TOTALS.get(kind, 0)
            )
            self.fields[f"profile_{kind}"] = forms.ChoiceField(
                label=_("Profile"), choices=list(PROFILES.items()), initial="double11"
            )
            self.fields[f"handling_{kind}"] = forms.FloatField(
                label=_("Minutes per step"),
                min_value=0.1,
                required=False,
                help_text=_("Empty: the usual minutes of each step."),
            )
        for code, name in departments.items():
            self.fields[f"staff_{code}"] = forms.CharField(
                label=name,
                required=False,
                initial=INITIAL_STAFF.get(code, "0"),
                help_text=_("People per hour: one number, 24 numbers, or runs such as 0×8, 30×11, 0×5."),
            )

    def setting_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("start", "days", "arrivals", "seed", "breach_target")]

    def kind_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"total_{k}"], self[f"profile_{k}"], self[f"handling_{k}"]) for k in DEFAULT_PATHS]

    def staff_fields(self) -> list[forms.BoundField]:
        return [self[f"staff_{code}"] for code in self.departments]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for code in self.departments:
            name = f"staff_{code}"
            try:
                cleaned[name] = staff_values(cleaned.get(name) or "0")
            except ValueError:
                self.add_error(name, _("Give whole numbers of people: 12, or 24 numbers, or 0×8, 30×11, 0×5."))
        return cleaned

    def plan_mapping(self) -> dict[str, Any]:
        """The plan as a plan file holds it (after ``is_valid()``)."""
        data = self.cleaned_data
        return {
            "name": "",
            "start": data["start"].isoformat(),
            "days": data["days"],
            "arrivals": data["arrivals"],
            "seed": data["seed"],
            "breach_target": data["breach_target"],
            "streams": [
                {"kind": kind, "total": data[f"total_{kind}"], "profile": data[f"profile_{kind}"]}
                for kind in DEFAULT_PATHS
                if data[f"total_{kind}"]
            ],
            "staff": {code: data[f"staff_{code}"] for code in self.departments},
            "handling_minutes": {
                kind: data[f"handling_{kind}"] for kind in DEFAULT_PATHS if data.get(f"handling_{kind}")
            },
        }
