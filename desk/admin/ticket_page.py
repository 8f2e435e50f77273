"""The ticket page, compact: a header (state, time left, buyer and order), the actions that apply to this user now,
the reply box, the conversation and timeline as one thread (desk.admin.thread), the buyer panel
(desk.admin.buyer_panel), evidence (desk.admin.ticket_evidence: downloaded and attached), the notifications sent;
the admin's field dump folded away at the bottom. The reply tools' endpoints are desk.admin.replies'.

Every button posts to its own admin URL, which loads the ticket from the user's scope, sets the version the
page was rendered with and calls the service (``tickets.services.ticket_act`` for transitions, as the API does;
``tickets.services.assignment`` for claim and reassign; ``ticket_comment_add``). The engine refuses a stale version
(``TicketChanged``), so a page someone else changed meanwhile cannot act on what it no longer shows. Every
refusal becomes a message on the page it came from, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from desk.admin.access import may_act, may_supervise, request_actor, ticket_hidden_from, visible_tickets
from desk.admin.bulk import error_text
from desk.admin.buyer_panel import buyer_panel
from desk.admin.display import deadline_chip, due_display, is_overdue, state_badge
from desk.admin.filters import department_names
from desk.admin.forms import (
    CommentForm,
    EvidenceForm,
    ReassignForm,
    VersionForm,
    transition_data,
    transition_form_class,
)
from desk.admin.thread import thread, transition_label
from desk.admin.ticket_evidence import with_download_urls
from kefu.core.errors import DomainError
from notifications.models import Notification
from orders.models import Channel
from risk.selectors import ticket_profile
from tickets import services
from tickets.actions import action_get, available_actions
from tickets.models import Attachment, Ticket
from tickets.privacy import buyer_contact
from tickets.services import ticket_act
from tickets.services.assignment import ticket_claim, ticket_reassign
from tickets.workflows import model_for_kind

if TYPE_CHECKING:
    from django.template.response import _TemplateForResponseT


def ticket_url(ticket_or_pk: Ticket | int | str) -> str:
    pk = ticket_or_pk.pk if isinstance(ticket_or_pk, Ticket) else ticket_or_pk
    return reverse("admin:tickets_ticket_change", args=[quote(str(pk))])


class TicketPageMixin:
    """The ticket page's context and its POST endpoints, for ``TicketAdmin``."""

    change_form_template: ClassVar[_TemplateForResponseT | None] = "admin/tickets/ticket/change_form.html"

    # -- loading, within the user's scope --------------------------------------------------------------

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Ticket | None:
        """The ticket as its kind, with what the page shows joined in, if the user's scope holds it."""
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            return None
        model = model_for_kind(obj.kind)
        relations = ["shop", "order", "buyer", "reason", "assignee", "origin"]
        relations += [f.name for f in model._meta.local_fields if isinstance(f, ForeignKey) and not f.one_to_one]
        return model.objects.select_related(*relations).get(pk=obj.pk)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        hidden = ticket_hidden_from(request, object_id)
        if hidden is not None:
            return self._not_yours(request, hidden)
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def _not_yours(self, request: HttpRequest, ticket: Ticket) -> HttpResponse:
        messages.warning(
            request,
            _("Ticket %(number)s is not in your department's queue, so you cannot open it.")
            % {"number": ticket.number},
        )
        return HttpResponseRedirect(reverse("admin:tickets_ticket_changelist"))

    # -- the page ---------------------------------------------------------------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Ticket | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self.ticket_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc]

    def ticket_context(self, request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
        """Everything the page shows besides the fields: a fixed number of queries, whatever the history."""
        actor = request_actor(request)
        acting = may_act(request)
        version = {"version": ticket.version}
        buttons = []
        if acting:
            for action in available_actions(ticket, actor):
                form = transition_form_class(action)(initial=version, prefix=action.name)
                buttons.append(
                    {
                        "name": action.name,
                        "label": str(action.label),
                        "needs": [need.name for need in action.needs if need.required],
                        "form": form,
                        "has_inputs": bool(form.visible_fields()),
                        "url": reverse("admin:tickets_ticket_transition", args=[quote(ticket.pk), action.name]),
                    }
                )
        open_ticket = ticket.closed_at is None and ticket.department is not None
        in_my_queue = actor.is_supervisor or ticket.department in actor.departments
        order = ticket.order
        prefetch_related_objects([order], "lines", "shipments")
        panel = buyer_panel(ticket)
        return {
            "ticket": ticket,
            "state_badge": state_badge(ticket),
            "deadline_chip": deadline_chip(ticket, timezone.now()),
            "due": due_display(ticket),
            "overdue": is_overdue(ticket),
            "platform_label": _platform_label(ticket.platform),
            "department_name": department_names(request).get(ticket.department or "", ticket.department),
            "may_act": acting,
            "transition_buttons": buttons,
            # Only an unassigned ticket is claimed; a supervisor moves an assigned one with Reassign.
            "can_claim": acting and open_ticket and in_my_queue and ticket.assignee_id is None,
            "can_reassign": may_supervise(request) and ticket.closed_at is None,
            "version_form": VersionForm(initial=version, auto_id=False),
            "reassign_form": ReassignForm(
                initial={**version, "assignee": ticket.assignee_id},
                department=ticket.department,
                auto_id="id_reassign_%s",
            ),
            "comment_form": CommentForm(auto_id="id_comment_%s") if acting else None,
            "evidence_form": EvidenceForm(auto_id="id_evidence_%s") if acting else None,
            "thread": thread(ticket),
            "buyer_panel": panel,
            # The buyer's open flags with the facts that raised them, and the profile's figures (risk.selectors).
            "risk_flags": panel.flags,
            "risk_profile": ticket_profile(ticket),
            # Masked unless the user's permission or step needs them (tickets.privacy).
            "buyer_contact": buyer_contact(user=request.user, actor=actor, ticket=ticket),
            "attachments": with_download_urls(
                ticket, Attachment.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk")
            ),
            "order": order,
            "order_lines": [
                {"line": line, "in_ticket": panel.ticket_lines.get(line.pk, 0)} for line in order.lines.all()
            ],
            "notifications": list(
                Notification.objects.filter(ticket_id=ticket.pk)
                .order_by("-created_at", "-pk")
                .only(
                    "created_at",
                    "event",
                    "channel",
                    "audience",
                    "recipient",
                    "status",
                    "attempts",
                    "last_error",
                    "sent_at",
                )
            ),
            "urls": {
                name: reverse(f"admin:tickets_ticket_{name}", args=[quote(ticket.pk)])
                for name in ("claim", "reassign", "comment", "attach")
            },
        }

    # -- the buttons' endpoints -------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/transition/<str:name>/", wrap(self.transition_view), name="tickets_ticket_transition"
            ),
            path("<path:object_id>/claim/", wrap(self.claim_view), name="tickets_ticket_claim"),
            path("<path:object_id>/reassign/", wrap(self.reassign_view), name="tickets_ticket_reassign"),
            path("<path:object_id>/comment/", wrap(self.comment_view), name="tickets_ticket_comment"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def _act(
        self,
        request: HttpRequest,
        object_id: str,
        *,
        form_class: Callable[..., forms.Form],
        work: Callable[[Ticket, forms.Form], str],
        label: str,
        supervisors_only: bool = False,
        versioned: bool = True,
    ) -> HttpResponse:
        """Load the ticket in the user's scope, validate the form, run ``work``, report, go back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (may_supervise(request) if supervisors_only else may_act(request)):
            raise PermissionDenied
        hidden = ticket_hidden_from(request, object_id)
        if hidden is not None:
            return self._not_yours(request, hidden)
        base = visible_tickets(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if base is None:
            messages.error(request, _("That ticket does not exist."))
            return HttpResponseRedirect(reverse("admin:tickets_ticket_changelist"))
        ticket = base.as_kind()
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, _("%(action)s: %(errors)s") % {"action": label, "errors": _form_errors(form)})
            return HttpResponseRedirect(ticket_url(ticket))
        if versioned:
            # The version the page showed: the services refuse to act on a copy someone changed since.
            ticket.version = form.cleaned_data["version"]
        try:
            done = work(ticket, form)
        except DomainError as exc:
            messages.error(request, _("%(action)s refused: %(reason)s") % {"action": label, "reason": error_text(exc)})
        else:
            messages.success(request, done)
            if not visible_tickets(request).filter(pk=ticket.pk).exists():
                # Handed on to another department (or ended): back to the queue, which no longer lists it.
                return HttpResponseRedirect(reverse("admin:tickets_ticket_changelist"))
        return HttpResponseRedirect(ticket_url(ticket))

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        probe = visible_tickets(request).filter(pk=object_id).only("kind").first() if object_id.isdigit() else None
        spec = action_get(probe.kind, name) if probe is not None else None
        if probe is not None and (spec is None or spec.system_only):
            messages.error(request, _("'%(name)s' is not an action of this ticket.") % {"name": name})
            return HttpResponseRedirect(ticket_url(object_id))
        form_class = transition_form_class(spec) if spec is not None else VersionForm
        actor = request_actor(request)

        def work(ticket: Ticket, form: forms.Form) -> str:
            updated = ticket_act(ticket=ticket, actor=actor, action=name, **transition_data(form))
            return _("%(action)s: ticket %(number)s is now %(state)s.") % {
                "action": transition_label(ticket, name),
                "number": updated.number,
                "state": updated.state_label(),
            }

        return self._act(
            request,
            object_id,
            label=transition_label(probe, name) if probe else name,
            form_class=lambda data: form_class(data, prefix=name),
            work=work,
        )

    def claim_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        actor = request_actor(request)

        def work(ticket: Ticket, form: forms.Form) -> str:
            updated = ticket_claim(ticket=ticket, actor=actor)
            return _("Ticket %(number)s is now assigned to you.") % {"number": updated.number}

        return self._act(request, object_id, label=_("Claim"), form_class=VersionForm, work=work)

    def reassign_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        actor = request_actor(request)

        def work(ticket: Ticket, form: forms.Form) -> str:
            assignee = form.cleaned_data["assignee"]
            updated = ticket_reassign(ticket=ticket, actor=actor, assignee=assignee)
            if assignee is None:
                return _("Ticket %(number)s is back in its department's queue.") % {"number": updated.number}
            return _("Ticket %(number)s is now assigned to %(user)s.") % {
                "number": updated.number,
                "user": assignee.get_username(),
            }

        return self._act(
            request, object_id, label=_("Reassign"), form_class=ReassignForm, work=work, supervisors_only=True
        )

    def comment_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        actor = request_actor(request)

        def work(ticket: Ticket, form: forms.Form) -> str:
            public = form.cleaned_data["public"]
            services.ticket_comment_add(ticket=ticket, actor=actor, body=form.cleaned_data["body"], public=public)
            if public:
                return _("Comment added; the buyer can see it.")
            return _("Internal note added (staff only).")

        # A comment does not depend on what the page showed, so it is not refused for a stale page.
        return self._act(request, object_id, label=_("Comment"), form_class=CommentForm, work=work, versioned=False)


def _platform_label(platform: str) -> str:
    """A marketplace's name as people read it ("Taobao", "淘宝"), not its code."""
    return str(Channel(platform).label) if platform in Channel.values else platform


def _form_errors(form: forms.Form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        text = " ".join(str(error) for error in errors)
        parts.append(f"{label}: {text}" if label else text)
    return "; ".join(parts)
