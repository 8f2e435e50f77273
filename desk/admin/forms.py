"""The small forms of the ticket page and the list's action bar.

A transition's form is built from the input serializer the API uses for it (``api.actions.ACTIONS``), so
the page asks for exactly what the service needs (a reason, carrier and tracking number, an amount, …); the
serializer validates again when ``run_action`` runs, as for the API. Keep the labels below in step with the
serializers' field names in ``api.serializers``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from routing.models import StaffMember

FIELD_LABELS = {
    "reason": _("Reason"),
    "carrier": _("Carrier"),
    "tracking_number": _("Tracking number"),
    "amount": _("Amount (¥)"),
    "resolution": _("Resolution offered to the buyer"),
    "carrier_claim_number": _("Carrier claim number"),
    "requested_amount": _("Requested amount (¥)"),
    "replacement_sku": _("Replacement SKU"),
    "description": _("Description"),
}
LONG_TEXT = {"reason", "resolution", "description"}


def _form_field(name: str, field: serializers.Field) -> forms.Field:
    label = FIELD_LABELS.get(name, name.replace("_", " "))
    required = bool(field.required)
    if isinstance(field, serializers.DecimalField):
        return forms.DecimalField(
            label=label,
            required=required,
            max_digits=field.max_digits,
            decimal_places=field.decimal_places,
            min_value=field.min_value,
        )
    if isinstance(field, serializers.BooleanField):
        return forms.BooleanField(label=label, required=False)
    if isinstance(field, serializers.ChoiceField):
        return forms.ChoiceField(label=label, required=required, choices=list(field.choices.items()))
    attrs: dict[str, Any] = {} if required else {"placeholder": _("optional")}
    widget = forms.Textarea(attrs={**attrs, "rows": 2, "cols": 40}) if name in LONG_TEXT else forms.TextInput(attrs)
    return forms.CharField(
        label=label, required=required, max_length=getattr(field, "max_length", None), widget=widget, strip=True
    )


def transition_form_class(serializer_class: type[serializers.Serializer]) -> type[forms.Form]:
    """A Django form with the serializer's fields (required ones first), plus the page's ticket version."""
    fields = serializer_class().fields
    ordered = sorted(fields.items(), key=lambda item: not item[1].required)
    attrs: dict[str, Any] = {name: _form_field(name, field) for name, field in ordered if not field.read_only}
    attrs["version"] = forms.IntegerField(widget=forms.HiddenInput)
    return type(f"{serializer_class.__name__}Form", (forms.Form,), attrs)


def transition_data(form: forms.Form) -> dict[str, Any]:
    """What ``run_action`` receives: the cleaned fields without the version, blanks of optional fields left out."""
    return {name: value for name, value in form.cleaned_data.items() if name != "version" and value not in (None, "")}


class VersionForm(forms.Form):
    """The ticket version the page showed (claim and reassign refuse a stale page, as transitions do)."""

    version = forms.IntegerField(widget=forms.HiddenInput)


def staff_users() -> QuerySet:
    """Active users who are members of a department (``routing.StaffMember``), by username."""
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=StaffMember.objects.values("user_id"))
        .order_by("username")
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full_name = obj.get_full_name()
        return f"{obj.get_username()} ({full_name})" if full_name else obj.get_username()


class ReassignForm(VersionForm):
    assignee = StaffChoiceField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("— nobody (back to the queue) —"),
    )

    def __init__(self, *args: Any, department: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = staff_users()
        if department:
            # Members of the ticket's department, and supervisors (tickets.services.assignment.ticket_reassign's rule).
            users = users.filter(staff_member__departments__code__in=[department, "supervisors"]).distinct()
        self.fields["assignee"].queryset = users


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), strip=True
    )
    public = forms.BooleanField(
        label=_("Visible to the buyer"),
        required=False,
        help_text=_("Unticked: an internal note, seen by staff only."),
    )


class TicketActionForm(ActionForm):
    """The list's action bar: the action, and whom "Assign to …" gives the selected tickets to."""

    assignee = StaffChoiceField(
        label=_("Assign to:"), queryset=staff_users(), required=False, empty_label=_("— choose for “Assign” —")
    )
