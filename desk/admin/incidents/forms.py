"""The incident's forms: declaring it (kind, scope, what buyers hear, what they are offered), starting it, extending
its tickets' internal deadlines, closing it.

``IncidentForm`` shows the model's JSON fields as what a supervisor fills in: the channels, tracking statuses and
offers as checkboxes, the SKUs as one line, the message as one text per language (``message`` is the Chinese
text, so the model's own check, "write the buyers' message in at least one language", lands beside it). The
model's ``clean`` is the one check of what an incident needs (an offer, a compensation for waiting, the alternative
SKU of an exchange); the form only turns the fields into its values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, IncidentOffer
from orders.models import Channel, ShipmentStatus

# The languages a message is written in, in the order of the form: (language code, form field).
MESSAGE_FIELDS = (("zh-hans", "message"), ("en", "message_en"))
CLOSING_FIELDS = (("zh-hans", "closing_message"), ("en", "closing_message_en"))
MAX_EXTENSION_HOURS = 24 * 14


def _texts(data: Mapping[str, Any], fields: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """{language: text} of the non-empty texts."""
    return {language: text.strip() for language, name in fields if (text := data.get(name) or "").strip()}


class IncidentForm(forms.ModelForm):
    message = forms.CharField(
        label=_("Message to buyers (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("What each affected buyer is told, with their ticket's link to answer."),
    )
    message_en = forms.CharField(
        label=_("Message to buyers (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("For buyers who read English; the Chinese text for the others."),
    )
    channels = forms.MultipleChoiceField(
        label=_("channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every channel."),
    )
    tracking_statuses = forms.MultipleChoiceField(
        label=_("tracking statuses"),
        choices=ShipmentStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Of the parcel to the buyer; none ticked: any."),
    )
    skus = forms.CharField(
        label=_("SKUs"),
        required=False,
        help_text=_("Orders with any of these SKUs, separated by commas or spaces; empty: any."),
    )
    offers = forms.MultipleChoiceField(
        label=_("offers"),
        choices=IncidentOffer.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What each affected buyer may choose from."),
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "kind",
            "shops",
            "channels",
            "carrier",
            "tracking_statuses",
            "origin_region",
            "destination_region",
            "skus",
            "shipped_from",
            "shipped_until",
            "message",
            "expected_delivery_date",
            "offers",
            "compensation_amount",
            "alternative_sku",
            "messages_per_minute",
        ]
        widgets = {"shops": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        message = self.instance.message if isinstance(self.instance.message, dict) else {}
        for language, name in MESSAGE_FIELDS:
            self.initial[name] = message.get(language, "")
        self.initial["skus"] = ", ".join(self.instance.skus or [])

    def clean_skus(self) -> list[str]:
        return [sku for sku in re.split(r"[\s,，、]+", self.cleaned_data.get("skus") or "") if sku]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        cleaned["message"] = _texts(self.data, MESSAGE_FIELDS)  # the model's JSON: {language: text}
        return cleaned


class StartForm(forms.Form):
    label_suffix = ""  # the label is a sentence

    confirm = forms.BooleanField(
        label=_("I have checked the orders above: open their tickets and tell their buyers."),
        error_messages={"required": _("Tick the box to confirm that the orders above are the right ones.")},
    )


class ExtendForm(forms.Form):
    hours = forms.IntegerField(
        label=_("Extend the internal deadlines by (hours)"),
        min_value=1,
        max_value=MAX_EXTENSION_HOURS,
        initial=24,
        help_text=_("Marketplace deadlines never move: tickets whose platform clock runs out first are flagged."),
    )


class CloseForm(forms.Form):
    closing_message = forms.CharField(
        label=_("Final message to buyers (Chinese)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": _("Write the final message the remaining buyers get.")},
    )
    closing_message_en = forms.CharField(
        label=_("Final message to buyers (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def texts(self) -> dict[str, str]:
        return _texts(self.cleaned_data, CLOSING_FIELDS)
