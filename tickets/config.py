"""Reason codes, read once per process (see kefu.core.config_cache)."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.core.config_cache import ConfigSnapshot
from tickets.models import ReasonCode


@dataclass(frozen=True)
class Reasons:
    by_code: dict[str, ReasonCode]
    by_id: dict[int, ReasonCode]


def _load() -> Reasons:
    reasons = list(ReasonCode.objects.all())
    return Reasons(by_code={r.code: r for r in reasons}, by_id={r.pk: r for r in reasons})


reason_codes = ConfigSnapshot("reasons", _load, watch=("tickets.ReasonCode",))
