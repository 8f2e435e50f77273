"""The signed satisfaction link: ``/survey/<token>/`` where the token names a survey, signed with the site's
secret key (django.core.signing, its own salt) and stamped with the time it was made.

A token is refused when its signature does not match (``TokenInvalid``: tampered, truncated, or made with
another key) or when it is older than ``KEFU_SURVEY_VALID_DAYS`` (``TokenExpired``). No account is needed: the
link alone lets its holder answer that one ticket's survey, once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "kefu.quality.survey"


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


def valid_for() -> timedelta:
    return timedelta(days=settings.KEFU_SURVEY_VALID_DAYS)


def survey_token(survey_id: int) -> str:
    return signing.dumps(survey_id, salt=SALT, compress=False)


def survey_id_from_token(token: str) -> int:
    """The survey the token names; raises TokenExpired or TokenInvalid."""
    try:
        value = signing.loads(token, salt=SALT, max_age=valid_for())
    except signing.SignatureExpired as exc:
        raise TokenExpired from exc
    except signing.BadSignature as exc:
        raise TokenInvalid from exc
    if not isinstance(value, int):
        raise TokenInvalid
    return value


def survey_url(survey_id: int) -> str:
    """The absolute link sent to the buyer."""
    path = reverse("quality:survey", kwargs={"token": survey_token(survey_id)})
    return f"{settings.KEFU_PUBLIC_BASE_URL}{path}"
