"""A flag's facts read as a sentence in the reader's language, with the count's own plural form."""

from django.utils import translation

from risk.models import FlagCode
from risk.wording import flag_text

THREAT = {"count": 1, "threshold": 1, "phrase": "给差评"}


def test_one_threat_is_one_ticket_and_two_are_tickets_in_english():
    with translation.override("en"):
        assert "1 ticket threatened a bad review" in flag_text(FlagCode.REVIEW_THREAT, THREAT)
        assert "2 tickets threatened" in flag_text(FlagCode.REVIEW_THREAT, {**THREAT, "count": 2})
        one_return = {"returns": 1, "days": 30, "threshold": 1}
        assert "1 return in 30 days" in flag_text(FlagCode.SERIAL_RETURNER, one_return)


def test_the_same_facts_in_chinese():
    with translation.override("zh-hans"):
        assert "365 天内有 1 个售后单威胁差评（阈值 1），例如“给差评”" in flag_text(FlagCode.REVIEW_THREAT, THREAT)
        assert "30 天内退货 5 次（阈值 4）" in flag_text(
            FlagCode.SERIAL_RETURNER, {"returns": 5, "days": 30, "threshold": 4}
        )
