"""The opening serializers copy their declared fields shallowly (api.serializers.InputSerializer): each instance
still has its own bound fields, and validation answers as DRF's deep copies did."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from api.serializers import ReturnOpenSerializer


def test_each_instance_has_its_own_bound_fields_and_the_declared_ones_stay_unbound():
    first, second = ReturnOpenSerializer(data={}), ReturnOpenSerializer(data={})
    for name in ("order_number", "reason", "lines", "requested_amount"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert ReturnOpenSerializer._declared_fields[name].parent is None  # the declared ones: never bound
    assert first.fields["lines"].child is not second.fields["lines"].child


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"lines": [{"sku": "A", "quantity": 0}], "reason": "r"}, {"order_number", "lines"}),
        ({"order_number": "O-1", "lines": [], "reason": "r", "requested_amount": "0"}, {"lines", "requested_amount"}),
        ({"order_number": "x" * 65, "lines": [{"sku": "A", "quantity": 1}]}, {"order_number", "reason"}),
    ],
)
def test_validation_answers_as_drfs_deep_copies_did(data, errors):
    # The same fields in a plain DRF serializer, whose get_fields deep-copies them.
    deep_copied = type("DeepCopied", (serializers.Serializer,), dict(ReturnOpenSerializer._declared_fields))
    ours, drfs = ReturnOpenSerializer(data=data), deep_copied(data=data)
    assert not ours.is_valid() and not drfs.is_valid()
    assert set(ours.errors) == errors
    assert ours.errors == drfs.errors
    assert ReturnOpenSerializer(data=data).is_valid() is False  # again, on fresh copies
