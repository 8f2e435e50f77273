"""Staff endpoints (token or session): the department queue, claim, assign, transitions, comments.

Staff see the tickets their departments must act on now (supervisors see all); others are 404. Which
transitions a user may run is the state machine's decision (the actor's departments), not the view's.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors
from api import serializers as s
from api import ticket_output as out
from api.actions import run_action
from api.auth import IsStaff
from api.idempotency import idempotent
from api.pagination import QueueCursorPagination
from api.schema import ERRORS, IDEMPOTENCY_HEADER, StaffTransitionInSerializer, action_parameter
from risk.selectors import flags_of_tickets
from tickets import services
from tickets.actors import Actor
from tickets.errors import TicketChanged
from tickets.models import Ticket
from tickets.selectors import staff_scope, staff_tickets, tickets_as_kinds
from tickets.services.assignment import ticket_claim, ticket_reassign


class StaffApi(APIView):
    permission_classes = [IsStaff]

    @property
    def actor(self) -> Actor:
        if not hasattr(self, "_actor"):
            user = self.request.user
            if not isinstance(user, User):  # IsStaff admits only authenticated staff users
                raise TypeError(f"A staff view serves a staff user, not {type(user).__name__}")
            self._actor = Actor.staff(user)
        return self._actor

    def scope(self):
        return staff_tickets(actor=self.actor)

    def ticket(self, number: str) -> Ticket:
        return selectors.ticket_in(staff_scope(actor=self.actor), number)

    def ticket_to_change(self, number: str) -> Ticket:
        """The ticket a write acts on. One that left the caller's departments since they saw it (another
        request's transition moved it on, perhaps a moment ago in a race) is 409 ``ticket_changed``, never 404:
        the caller is told to reload, not that the ticket does not exist."""
        try:
            return self.ticket(number)
        except Http404:
            moved = selectors.ticket_left_departments(number, departments=self.actor.departments)
            if moved is None:
                raise
            raise TicketChanged(
                _(
                    "Ticket %(number)s was changed by someone else since you opened it (now %(state)s) and is no "
                    "longer in your department's queue."
                )
                % {"number": moved.number, "state": moved.state_label()},
                current_state=moved.state,
                current_version=moved.version,
            ) from None

    def ticket_body(self, ticket: Ticket) -> dict:
        lines, events = selectors.answer_rows(ticket, public_only=False)
        context = {
            "actor_for": lambda t: self.actor,
            "lines": {ticket.pk: lines},
            "timeline": events,
            "public": False,
            "risk_flags": flags_of_tickets([ticket]),
        }
        return out.StaffTicketDetailOutSerializer(ticket, context=context).data


class QueueFilter(filters.FilterSet):
    kind = filters.CharFilter()
    state = filters.CharFilter()
    priority = filters.NumberFilter()
    department = filters.CharFilter()
    assignee = filters.CharFilter(method="filter_assignee", help_text="A username, 'me' or 'none'.")
    overdue = filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        return queryset.filter(assignee__username=value)

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(step_due_at__lt=now) if value else queryset.exclude(step_due_at__lt=now)


class StaffQueueApi(StaffApi):
    pagination_class = QueueCursorPagination

    @extend_schema(
        operation_id="staff_queue",
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("state", str),
            OpenApiParameter("priority", int),
            OpenApiParameter("department", str),
            OpenApiParameter("assignee", str, description="username, 'me' or 'none'"),
            OpenApiParameter("overdue", bool),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int),
        ],
        responses={200: out.StaffTicketOutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        open_tickets = self.scope().filter(closed_at__isnull=True)
        tickets = QueueFilter(request.query_params, queryset=open_tickets, request=request)
        if not tickets.is_valid():
            raise ValidationError(tickets.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tickets.qs, request, view=self)
        if page is None:  # only without a page size, and the cursor pagination has one
            raise TypeError("QueueCursorPagination has no page size")
        loaded = tickets_as_kinds(page)
        context = {
            "actor_for": lambda t: self.actor,
            "lines": selectors.lines_by_ticket(loaded),
            "public": False,
            "risk_flags": flags_of_tickets(loaded),  # one query for the page's buyers
        }
        return paginator.get_paginated_response(out.StaffTicketOutSerializer(loaded, many=True, context=context).data)


class StaffTicketDetailApi(StaffApi):
    @extend_schema(operation_id="staff_ticket_retrieve", responses={200: out.StaffTicketDetailOutSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return Response(self.ticket_body(self.ticket(number)))


class StaffTransitionApi(StaffApi):
    @extend_schema(
        operation_id="staff_ticket_transition",
        request=StaffTransitionInSerializer,
        parameters=[IDEMPOTENCY_HEADER, action_parameter("transition")],
        responses={200: out.StaffTicketDetailOutSerializer, **ERRORS},
        description="Run a transition by name (see the ticket's `actions`). Body fields depend on it: `reason`, "
        "`amount`, `carrier` + `tracking_number`, `resolution`, `carrier_claim_number`.",
    )
    @idempotent
    def post(self, request: Request, number: str, transition: str) -> Response:
        ticket = self.ticket_to_change(number)
        updated = run_action(ticket=ticket, actor=self.actor, name=transition, data=request.data)
        return Response(self.ticket_body(updated))


class StaffClaimApi(StaffApi):
    @extend_schema(
        operation_id="staff_ticket_claim",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: out.StaffTicketDetailOutSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = ticket_claim(ticket=self.ticket_to_change(number), actor=self.actor)
        return Response(self.ticket_body(ticket))


class StaffAssignApi(StaffApi):
    @extend_schema(
        operation_id="staff_ticket_assign",
        request=s.AssignInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: out.StaffTicketDetailOutSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket_to_change(number)
        payload = s.AssignInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        username = payload.validated_data["assignee"]
        assignee = None
        if username:
            assignee = get_user_model().objects.filter(username=username, is_active=True).first()
            if assignee is None:
                message = _("No active staff user '%(username)s'.") % {"username": username}
                raise ValidationError({"assignee": [message]})
        updated = ticket_reassign(ticket=ticket, actor=self.actor, assignee=assignee)
        return Response(self.ticket_body(updated))


class StaffCommentApi(StaffApi):
    @extend_schema(
        operation_id="staff_ticket_comment",
        request=s.StaffCommentInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: out.TimelineEventSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket_to_change(number)
        payload = s.StaffCommentInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = services.ticket_comment_add(
            ticket=ticket,
            actor=self.actor,
            body=payload.validated_data["body"],
            public=payload.validated_data["public"],
        )
        return Response(out.TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)
