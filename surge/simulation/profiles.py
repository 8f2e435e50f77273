"""How a day's tickets spread over its 24 hours: presets for a plan's ``profile`` (weights, normalised here).

``double11``: the midnight peak of 双十一 (orders placed at 00:00 turn into questions and cancellations within
the first hours), a quiet early morning, a working-day rhythm and the evening peak before the day ends.
``live_stream``: a normal day with the wave after an evening live stream (20:00–23:00). ``office``: office
hours only. ``flat``: the same every hour.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

_WEIGHTS: dict[str, tuple[float, ...]] = {
    "flat": (1,) * 24,
    "double11": (14, 10, 6, 3, 2, 1, 1, 2, 3, 4, 5, 5, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7, 8, 9),
    "live_stream": (1, 1, 0.5, 0.5, 0.5, 0.5, 1, 2, 3, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 4, 9, 12, 10, 6),
    "office": (0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0),
}
PROFILES: dict[str, object] = {
    "flat": _("Flat (the same every hour)"),
    "double11": _("Double 11 (midnight peak)"),
    "live_stream": _("Evening live stream"),
    "office": _("Office hours (09:00–18:00)"),
}


def profile_weights(name: str, hours: int) -> list[float]:
    """The share of a total that falls in each of ``hours`` hours (the day's shape repeated; shares sum to 1)."""
    day = _WEIGHTS[name]
    weights = [day[h % 24] for h in range(hours)]
    total = sum(weights)
    return [w / total for w in weights]
