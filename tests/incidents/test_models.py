"""An incident's declaration is checked before it starts (``Incident.clean``), each error on its field, in the
reader's language."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from incidents.models import IncidentOffer
from tests.factories.incidents import IncidentFactory

pytestmark = pytest.mark.django_db


def errors(incident) -> dict[str, list[str]]:
    try:
        incident.clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"offers": []}, "offers"),
        ({"offers": ["wait", "teleport"]}, "offers"),
        ({"offers": [IncidentOffer.EXCHANGE], "alternative_sku": " "}, "alternative_sku"),
        ({"offers": [IncidentOffer.WAIT], "compensation_amount": None}, "compensation_amount"),
        ({"offers": [IncidentOffer.WAIT], "compensation_amount": Decimal("0.00")}, "compensation_amount"),
        ({"message": {}}, "message"),
        ({"message": {"zh-hans": "  ", "en": ""}}, "message"),
        ({"channels": ["tmall", "amazon"]}, "channels"),
        ({"tracking_statuses": ["lost_in_space"]}, "tracking_statuses"),
    ],
)
def test_each_incomplete_declaration_names_its_field(changes, field):
    incident = IncidentFactory.build(**changes)
    assert list(errors(incident)) == [field]


def test_a_ship_date_range_ending_before_it_starts_is_refused_on_its_end():
    now = timezone.now()
    incident = IncidentFactory.build(shipped_from=now, shipped_until=now - timedelta(days=1))
    assert list(errors(incident)) == ["shipped_until"]


def test_a_complete_declaration_passes_and_the_errors_speak_the_readers_language():
    assert errors(IncidentFactory.build()) == {}
    assert errors(IncidentFactory.build(offers=[IncidentOffer.REFUND], compensation_amount=None)) == {}
    incomplete = IncidentFactory.build(offers=[IncidentOffer.EXCHANGE], alternative_sku="", message={})
    with translation.override("zh-hans"):
        zh = errors(incomplete)
    with translation.override("en"):
        en = errors(incomplete)
    assert set(zh) == set(en) == {"alternative_sku", "message"}
    assert zh["alternative_sku"] == ["换货需要填写买家换到的替代款 SKU。"]
    assert en["alternative_sku"] == ["An exchange needs the alternative SKU buyers get instead."]
