"""Typed inputs of the ticket services (the API's serializers and the admin's forms build these)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineRequest:
    """An order line (by SKU) and how many of its items a ticket concerns."""

    sku: str
    quantity: int
