"""Threats of a bad review (恶意差评) in a buyer's words: a short list of patterns, each one a reason a person can read.

A message threatens when it ties a review to what the buyer wants ("不退款就给差评", "refund me or I'll leave a
bad review") or announces one ("一星", "1-star"). The list is deliberately small and literal, so every flag says
which phrase raised it and a false alarm is easy to see; it is not a classifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (name, pattern). The first that matches is the phrase a flag names.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("差评", re.compile(r"(给|打|写|留|发|刷)?[个条]?(中|差)评")),
    ("一星", re.compile(r"(一|1)\s*(星|颗星)")),
    ("追评", re.compile(r"追评")),
    ("bad review", re.compile(r"\b(bad|negative|terrible|1[- ]?star|one[- ]star)\s+(review|rating|feedback)\b", re.I)),
    ("1-star", re.compile(r"\b(1|one)[- ]star\b", re.I)),
    ("review threat", re.compile(r"\bleave\s+(a\s+)?(review|rating)\b.*\bunless\b", re.I)),
)


def threat_phrase(text: str) -> str | None:
    """The phrase of ``text`` that threatens a bad review (as written), else None."""
    if not text:
        return None
    for _name, pattern in PATTERNS:
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


def threatening(texts: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Of (ticket id, text) pairs, the tickets with a threat and the first phrase found in each."""
    found: dict[int, str] = {}
    for ticket_id, text in texts:
        if ticket_id not in found:
            phrase = threat_phrase(text)
            if phrase:
                found[ticket_id] = phrase
    return found
