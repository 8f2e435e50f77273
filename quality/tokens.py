"""The signed satisfaction link: ``/survey/<token>/`` names one survey (kefu.core.signed_links), valid
``KEFU_SURVEY_VALID_DAYS``. No account is needed: the link alone lets its holder answer that one ticket's survey,
once."""

from __future__ import annotations

from kefu.core.signed_links import SignedLink, TokenExpired, TokenInvalid

__all__ = ["SALT", "TokenExpired", "TokenInvalid", "survey_id_from_token", "survey_token", "survey_url", "valid_for"]

SALT = "kefu.quality.survey"
SURVEY_LINK = SignedLink(salt=SALT, url_name="quality:survey", valid_days_setting="KEFU_SURVEY_VALID_DAYS")

valid_for = SURVEY_LINK.valid_for
survey_token = SURVEY_LINK.token
survey_id_from_token = SURVEY_LINK.id_from
survey_url = SURVEY_LINK.url
