"""The small forms of the ticket page and the list's action bar.

A transition's form is built from the action's declared needs (``tickets.actions``, from ``custom=Act(...)``
on the transition): the page asks for exactly what the action takes (a reason, carrier and tracking number,
an amount, …), with the declared labels and help; ``ticket_act`` validates the same declaration again when it
runs. The API's input serializers are built from the same needs (``api.actions.serializer_field``).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.models import Reinforcement, StaffMember, reinforcement_active
from tickets.actions import Action, action_get
from tickets.workflows.acts import Need, NeedType


def form_field(need: Need) -> forms.Field:
    """The Django form field of one declared input (the API's ``serializer_field`` is its twin)."""
    common: dict[str, Any] = {"label": need.label, "required": need.required, "help_text": need.help}
    if need.type == NeedType.MONEY:
        return forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **common)
    attrs: dict[str, Any] = {} if need.required else {"placeholder": _("optional")}
    if need.type == NeedType.LONG_TEXT:
        widget: forms.Widget = forms.Textarea(attrs={**attrs, "rows": 2, "cols": 40})
    else:
        widget = forms.TextInput(attrs)
    return forms.CharField(max_length=need.max_length, widget=widget, strip=True, **common)


def transition_form_class(action: Action) -> type[forms.Form]:
    """A Django form with the action's inputs (required ones first), plus the page's ticket version."""
    return _form_class(action.kind, action.name)


@functools.cache
def _form_class(kind: str, name: str) -> type[forms.Form]:
    action = action_get(kind, name)
    assert action is not None, (kind, name)  # noqa: S101  (only called with a catalogued action)
    ordered = sorted(action.needs, key=lambda need: not need.required)
    attrs: dict[str, Any] = {need.name: form_field(need) for need in ordered}
    attrs["version"] = forms.IntegerField(widget=forms.HiddenInput)
    class_name = "".join(part.title() for part in (kind, *name.split("_"))) + "Form"
    return type(class_name, (forms.Form,), attrs)


def transition_data(form: forms.Form) -> dict[str, Any]:
    """What ``ticket_act`` receives: the cleaned fields without the version, blanks of optional fields left out."""
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
            # Members of the ticket's department, supervisors, and staff moved into the department by a reinforcement
            # in force (tickets.services.assignment.ticket_reassign's rule, routing.services.staff_member_departments).
            reinforced = Reinforcement.objects.filter(
                reinforcement_active(timezone.now()), department__code=department
            ).values("user_id")
            users = users.filter(
                Q(staff_member__departments__code__in=[department, "supervisors"]) | Q(pk__in=reinforced)
            ).distinct()
        field = self.fields["assignee"]
        if not isinstance(field, forms.ModelChoiceField):
            raise TypeError("assignee is declared as a ModelChoiceField above")
        field.queryset = users


class CommentForm(forms.Form):
    # data-shortcut: the desk's keyboard script focuses the reply box on "r".
    body = forms.CharField(
        label=_("Comment"),
        max_length=5000,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "cols": 60,
                "placeholder": _("Reply to the buyer"),
                "data-shortcut": "r",
                "data-shortcut-label": _("Reply to the buyer"),
            }
        ),
        strip=True,
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


class EvidenceForm(forms.Form):
    """A file staff attach to a ticket (a photo the buyer sent by chat); checked as the API checks an upload."""

    file = forms.FileField(label=_("File"), help_text=_("A JPEG, PNG or WebP photo or an MP4 video."))
    public = forms.BooleanField(
        label=_("Visible to the buyer"),
        required=False,
        initial=True,
        help_text=_("Unticked: seen by staff only."),
    )
