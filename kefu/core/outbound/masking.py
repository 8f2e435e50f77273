"""Credentials and control characters out of what is shown, logged or stored (robot URLs, answers' excerpts)."""

from __future__ import annotations

import re

EXCERPT_CHARS = 200


# Query parameters and JSON keys whose values are credentials (WeCom key=, DingTalk access_token= and sign=, …).
SECRET_NAMES = ("access_token", "token", "key", "secret", "sign", "signature", "password", "accesskeyid", "apikey")
_SECRET_PARAM = re.compile(
    r"(?i)(?P<name>\b(?:" + "|".join(SECRET_NAMES) + r"))(?P<sep>=|\"?\s*:\s*\"?)(?P<value>[^&\s\"',;]+)"
)
_USERINFO = re.compile(r"(?i)(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")
# Control characters, ANSI escapes, zero-width and bidi overrides.
CONTROL_CHARACTERS = re.compile(
    r"(?:\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069])+"
)


def _mask_value(value: str) -> str:
    if value.endswith("****"):  # masked already (masking twice changes nothing)
        return value
    return (value[:4] if len(value) > 8 else "") + "****"


def mask_secrets(text: str) -> str:
    """``text`` with credentials hidden: the values of ``key=``, ``access_token=``, ``sign=``, ``"secret": …``
    and the like keep at most their first 4 characters, and user names and passwords in URLs are dropped."""
    text = _USERINFO.sub(lambda m: m.group("scheme") + "****@", text)
    return _SECRET_PARAM.sub(lambda m: m.group("name") + m.group("sep") + _mask_value(m.group("value")), text)


def mask_url(url: str) -> str:
    """A URL safe to show or log: a robot's ``key=``/``access_token=`` (and any other credential) masked."""
    return mask_secrets(url)


def sanitize(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most ``limit`` characters: control and bidi characters gone, secrets masked."""
    text = " ".join(CONTROL_CHARACTERS.sub(" ", text).split())
    text = mask_secrets(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
