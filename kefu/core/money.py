"""Splitting an amount of money into parts that sum to it exactly, to the fen (largest-remainder method).

A line of quantity 2 paid ¥100.01 is worth ¥50.01 and ¥50.00, never ¥50.01 twice: rounding each part on its
own over-allocates, and the part that then finds nothing left can never be refunded. Every function here
works in whole fen, so the parts always sum to the total and no part differs from its exact quota by a fen
or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

FEN = Decimal("0.01")


def to_fen(amount: Decimal) -> int:
    """``amount`` in whole fen; refuses an amount with a fraction of a fen (money is stored to the fen)."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def largest_remainder(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """``total`` split in proportion to ``weights`` (non-negative integers, not all 0), in fen.

    Each part is its exact quota rounded down; the fen left over go one each to the parts with the largest
    remainders, ties to the earlier part. The parts sum exactly to ``total``.
    """
    if any(w < 0 for w in weights) or not any(weights):
        raise ValueError("weights must be non-negative and not all zero")
    fen = to_fen(total)
    whole = sum(weights)
    floors = [fen * w // whole for w in weights]
    remainders = [fen * w % whole for w in weights]
    left = fen - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        floors[index] += 1
    return [from_fen(f) for f in floors]


def units_share(total: Decimal, quantity: int, *, offset: int, count: int) -> Decimal:
    """What units ``offset`` … ``offset + count - 1`` of a line of ``quantity`` units paid ``total`` are worth.

    The line's units are valued by ``largest_remainder`` over equal weights: the first ``total % quantity``
    (in fen) units carry one fen more than the others. A ticket takes the units after those of the tickets
    before it (``offset``), so the shares of tickets that together hold the whole line sum exactly to
    ``total``; the dearer units come first, so when an earlier ticket lets its units go, a later ticket's
    share can only grow (never below what it already refunded). Units past the end are taken from the end.
    """
    if quantity <= 0 or count <= 0:
        return Decimal("0.00")
    count = min(count, quantity)
    offset = max(0, min(offset, quantity - count))
    fen = to_fen(total)
    base, extra_units = divmod(fen, quantity)
    extra = max(0, min(extra_units, offset + count) - offset)
    return from_fen(base * count + extra)
