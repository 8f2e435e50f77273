"""The form of "Open a ticket" (desk.admin.open_ticket): staff open a ticket for a buyer who phoned or chatted.

It checks what a person can fix on the form (the kind's own fields, a reason of that kind, at least one item for a
return or an exchange, the evidence file with the API's checks) and names the fault in the user's language; the
opening services (tickets.services.opening) check everything again, and their refusals land on the same form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.evidence_files import EvidenceRefused, upload_check
from orders.models import Order, OrderLine
from tickets.models import ComplaintCategory, ExceptionType, Kind, ReasonCode, Severity
from tickets.types import LineRequest

# The fields only one kind has: shown for that kind (the page's script hides the others), required where the
# service requires them.
KIND_FIELDS = {
    Kind.RETURN: ("refund_only",),
    Kind.EXCHANGE: ("replacement_sku", "replacement_name"),
    Kind.COMPLAINT: ("category", "severity"),
    Kind.LOGISTICS: ("exception_type",),
}


class OrderLookupForm(forms.Form):
    q = forms.CharField(
        label=_("Order number, buyer phone or name"),
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"autofocus": True, "size": 32}),
    )


class ReasonSelect(forms.Select):
    """Each reason's option carries the kinds it is for (``data-kinds``), so the page can offer only those."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-kinds"] = " ".join(instance.kinds)
        return option


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class OpenTicketForm(forms.Form):
    order = forms.ModelChoiceField(queryset=Order.objects.all(), widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    reason = ReasonChoiceField(
        label=_("Reason"),
        queryset=ReasonCode.objects.filter(active=True),
        required=False,
        widget=ReasonSelect,
        empty_label=_("— choose —"),
    )
    description = forms.CharField(
        label=_("What the buyer said"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        strip=True,
    )
    refund_only = forms.BooleanField(label=_("Refund only (the goods stay with the buyer)"), required=False)
    replacement_sku = forms.CharField(label=_("Replacement SKU"), max_length=64, required=False, strip=True)
    replacement_name = forms.CharField(label=_("Replacement item"), max_length=255, required=False, strip=True)
    category = forms.ChoiceField(
        label=_("Complaint category"), choices=[("", "—"), *ComplaintCategory.choices], required=False
    )
    severity = forms.TypedChoiceField(
        label=_("Severity"), choices=Severity.choices, coerce=int, initial=Severity.MEDIUM, required=False
    )
    exception_type = forms.ChoiceField(
        label=_("What happened to the parcel"), choices=[("", "—"), *ExceptionType.choices], required=False
    )
    evidence = forms.FileField(
        label=_("Evidence"),
        required=False,
        help_text=_("A photo or video the buyer sent (JPEG, PNG, WebP or MP4), checked as the API checks uploads."),
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[line_field(line)] = forms.IntegerField(
                label=line.name, min_value=0, max_value=line.quantity, initial=line.quantity, required=False
            )

    def line_fields(self) -> list[tuple[OrderLine, forms.BoundField]]:
        return [(line, self[line_field(line)]) for line in self.lines]

    def kind_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(kind, [self[name] for name in names]) for kind, names in KIND_FIELDS.items()]

    def line_requests(self) -> list[LineRequest]:
        return [
            LineRequest(sku=line.sku, quantity=self.cleaned_data.get(line_field(line)) or 0)
            for line in self.lines
            if self.cleaned_data.get(line_field(line))
        ]

    def clean_evidence(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("evidence")
        if upload is None:
            return None
        try:
            self.evidence_type = upload_check(upload, existing=0)
        except EvidenceRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        kind = data.get("kind")
        reason = data.get("reason")
        if kind is None:
            return data
        kind_label = Kind(kind).label
        if reason is not None and not reason.allows(kind):
            self.add_error(
                "reason",
                gettext("“%(reason)s” is not a reason for a ticket of the kind “%(kind)s”; choose one of its own.")
                % {"reason": reason, "kind": kind_label},
            )
        if kind in (Kind.RETURN, Kind.EXCHANGE):
            if reason is None and "reason" not in self.errors:
                self.add_error("reason", gettext("Choose a reason."))
            if not any(data.get(line_field(line)) for line in self.lines):
                self.add_error(None, gettext("Give a quantity for at least one item of the order."))
        if kind == Kind.EXCHANGE and not data.get("replacement_sku"):
            self.add_error("replacement_sku", gettext("An exchange needs the SKU of the replacement."))
        if kind == Kind.COMPLAINT:
            if not data.get("category"):
                self.add_error("category", gettext("Choose the complaint's category."))
            if not data.get("description"):
                self.add_error("description", gettext("Write down what the buyer complains about."))
        if kind == Kind.LOGISTICS and not data.get("exception_type"):
            self.add_error("exception_type", gettext("Choose what happened to the parcel."))
        return data


def line_field(line: OrderLine) -> str:
    return f"line_{line.pk}"
