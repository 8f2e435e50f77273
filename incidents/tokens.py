"""The buyer's signed answer link: ``/incident/<token>/`` names one affected order of an incident
(``IncidentTicket``; kefu.core.signed_links), valid ``KEFU_INCIDENT_ANSWER_VALID_DAYS``. No account is needed: the
link alone lets its holder answer for that one order, once. A survey's token is refused here (another salt)."""

from __future__ import annotations

from kefu.core.signed_links import SignedLink, TokenExpired, TokenInvalid

__all__ = ["SALT", "TokenExpired", "TokenInvalid", "affected_id_from_token", "answer_token", "answer_url", "valid_for"]

SALT = "kefu.incidents.answer"
ANSWER_LINK = SignedLink(salt=SALT, url_name="incidents:answer", valid_days_setting="KEFU_INCIDENT_ANSWER_VALID_DAYS")

valid_for = ANSWER_LINK.valid_for
answer_token = ANSWER_LINK.token
affected_id_from_token = ANSWER_LINK.id_from
answer_url = ANSWER_LINK.url
