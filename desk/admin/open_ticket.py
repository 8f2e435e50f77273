"""“Open a ticket”: staff open a ticket for a buyer who phoned or chatted (``/admin/tickets/ticket/open/``).

Two steps on one page: find the order (its number, the buyer's phone, or the beginning of the buyer's name), then
the ticket (kind, a reason of that kind, what the buyer said, the items and quantities, the kind's own fields and
a piece of evidence). It calls the same opening services as the storefront API (tickets.services.opening), as
the staff member (``Actor.staff``), and attaches the evidence with ``ticket_evidence_attach`` after the API's
checks (kefu.core.evidence_files.upload_check), both in one transaction: a refused file opens nothing. Every
refusal is shown on the form, in the user's language.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from desk.admin.access import may_act, request_actor, visible_tickets
from desk.admin.open_forms import OpenTicketForm, OrderLookupForm
from kefu.core.errors import DomainError
from orders.models import Order
from tickets import services
from tickets.actors import Actor
from tickets.models import Kind, Severity, Ticket

# How many orders a lookup lists (a phone or a name may match many; the newest first).
LOOKUP_LIMIT = 20


def orders_matching(term: str) -> list[Order]:
    """Orders by exact number, or of buyers with this exact phone or a name beginning with the term, newest first."""
    term = term.strip()
    if not term:
        return []
    query = Q(number=term) | Q(buyer__phone=term) | Q(buyer__name__istartswith=term)
    return list(Order.objects.filter(query).select_related("buyer", "shop").order_by("-paid_at", "-pk")[:LOOKUP_LIMIT])


def ticket_open(*, form: OpenTicketForm, actor: Actor) -> Ticket:
    """Open the ticket the valid form describes, through its kind's opening service, then attach the evidence."""
    data = form.cleaned_data
    order: Order = data["order"]
    kind = data["kind"]
    reason = data["reason"].code if data.get("reason") else None
    description = data.get("description") or ""
    with transaction.atomic():
        ticket: Ticket
        if kind == Kind.RETURN:
            ticket = services.return_open(
                order=order,
                actor=actor,
                lines=form.line_requests(),
                reason_code=reason or "",
                refund_only=data.get("refund_only", False),
                description=description,
            )
        elif kind == Kind.EXCHANGE:
            ticket = services.exchange_open(
                order=order,
                actor=actor,
                lines=form.line_requests(),
                reason_code=reason or "",
                replacement_sku=data.get("replacement_sku", ""),
                replacement_name=data.get("replacement_name", ""),
                description=description,
            )
        elif kind == Kind.COMPLAINT:
            ticket = services.complaint_open(
                order=order,
                actor=actor,
                category=data["category"],
                description=description,
                severity=data.get("severity") or Severity.MEDIUM,
                lines=form.line_requests(),
                reason_code=reason,
            )
        else:
            ticket = services.logistics_open(
                order=order,
                actor=actor,
                exception_type=data["exception_type"],
                description=description,
                lines=form.line_requests(),
            )
        upload = data.get("evidence")
        if upload is not None:
            services.ticket_evidence_attach(
                ticket=ticket,
                actor=actor,
                file=upload,
                original_name=upload.name or "evidence",
                content_type=form.evidence_type,
            )
    return ticket


class OpenTicketMixin:
    """The page's URL and view, for ``TicketAdmin``."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("open/", wrap(self.open_ticket_view), name="tickets_ticket_open"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def open_ticket_view(self, request: HttpRequest) -> HttpResponse:
        if not may_act(request):
            raise PermissionDenied
        lookup = OrderLookupForm(request.GET or None)
        found = orders_matching(lookup.cleaned_data["q"]) if lookup.is_valid() else []
        order = _chosen_order(request)
        form = None
        if order is not None:
            lines = list(order.lines.order_by("pk"))
            if request.method == "POST":
                form = OpenTicketForm(request.POST, request.FILES, lines=lines)
                if form.is_valid():
                    opened = self._open(request, form)
                    if opened is not None:
                        return opened
            else:
                form = OpenTicketForm(initial={"order": order.pk, "kind": Kind.RETURN}, lines=lines)
        elif request.method == "POST":
            messages.error(request, _("That order does not exist: look it up again."))
        elif lookup.is_valid() and not found:
            messages.warning(
                request,
                _("No order matches “%(term)s”: try the full order number, the buyer's phone or name.")
                % {"term": lookup.cleaned_data["q"]},
            )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": _("Open a ticket"),
            "opts": Ticket._meta,
            "lookup": lookup,
            "found": found,
            "order": order,
            "form": form,
            "query": request.GET.get("q", ""),
        }
        return TemplateResponse(request, "admin/tickets/ticket/open_ticket.html", context)

    def _open(self, request: HttpRequest, form: OpenTicketForm) -> HttpResponse | None:
        try:
            ticket = ticket_open(form=form, actor=request_actor(request))
        except DomainError as exc:
            # On the field it is about when the form shows that field; above the form otherwise (the order, a line).
            shown = exc.field in form.fields and not form.fields[exc.field].widget.is_hidden
            field = exc.field if shown else None
            form.add_error(field, exc.message)
            return None
        if visible_tickets(request).filter(pk=ticket.pk).exists():
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
        messages.success(
            request,
            _("Ticket %(number)s opened; it is in another department's queue.") % {"number": ticket.number},
        )
        return HttpResponseRedirect(reverse("admin:tickets_ticket_changelist"))


def _chosen_order(request: HttpRequest) -> Order | None:
    raw = request.POST.get("order") if request.method == "POST" else request.GET.get("order")
    if not raw or not str(raw).isdigit():
        return None
    return Order.objects.select_related("buyer", "shop").filter(pk=raw).first()
