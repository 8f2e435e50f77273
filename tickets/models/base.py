"""The ticket: what every kind shares, and the lines of the order it concerns.

``Ticket`` is a concrete table holding what queues, the deadline sweep and lists need (state, department,
assignee, due time), so they read one table through one index. Each kind is a multi-table subclass
(``tickets.workflows``) that keeps its own data and its own django-fsm state machine on the shared,
protected ``state`` field. The kind/state pairs are backed by a database check constraint.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMFieldMixin

from kefu.core.money import units_share
from kefu.core.vocabulary import STATES_BY_KIND, Department, Kind, Priority, Step, all_state_choices, state_label
from orders.models import MONEY, ZERO, Buyer, Order, OrderLine, Shop
from tickets.models.reasons import ReasonCode, reason_codes


class WaitingOn(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    BUYER = "buyer", _("Buyer")
    NOBODY = "nobody", _("Nobody (ended)")


class Ticket(ConcurrentTransitionMixin, models.Model):
    """One after-sales request about one order. Subclassed once per kind.

    Invariants: ``state`` changes only through a transition of the kind's state machine (the field is
    protected); every change bumps ``version`` and writes a ``TicketEvent`` in the same transaction
    (tickets.services.engine); ``due_at`` is the deadline of the current step, None in end states.
    """

    # Set by each kind's subclass.
    KIND: ClassVar[str] = ""
    NUMBER_PREFIX: ClassVar[str] = ""
    INITIAL_STATE: ClassVar[str] = ""
    FINAL_STATES: ClassVar[frozenset[str]] = frozenset()
    STEPS: ClassVar[dict[str, Step]] = {}

    # Looked up whole only (API, admin search): migration 0008 drops the LIKE index PostgreSQL's backend adds.
    number = models.CharField(_("ticket number"), max_length=32, unique=True, null=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, editable=False)
    state = FSMField(_("state"), max_length=32, choices=all_state_choices(), protected=True)
    # No index of its own on shop, assignee: ticket_shop_created_idx and ticket_assignee_open_idx begin with them.
    # Every index is written again on most transitions (they change indexed columns, so PostgreSQL cannot
    # update the row in place): an index another one covers costs each change and serves no query.
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("shop"), db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("order"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("buyer"))
    reason = models.ForeignKey(
        "tickets.ReasonCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reason"),
    )
    description = models.TextField(_("description"), blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    # A routing.Department code (the four defaults are ``Department``; supervisors may add backup pools).
    department = models.CharField(_("department"), max_length=32, null=True, blank=True)
    waiting_on = models.CharField(_("waiting on"), max_length=16, choices=WaitingOn.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_index=False,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    step_started_at = models.DateTimeField(_("current step started at"))
    # The department that owned the step when it started, and the step's deadline: escalation and
    # reassignment change ``department`` and ``due_at`` but not these, so SLA figures stay true.
    step_department = models.CharField(_("step department"), max_length=32, blank=True, editable=False)
    step_due_at = models.DateTimeField(_("step deadline"), null=True, blank=True, editable=False)
    # When the sweep acts next: the deadline, or the next escalation check after a breach.
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    # When the "deadline approaching" warning goes out (default 80 % of the step's time); cleared once sent.
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True, editable=False)
    sla_breached = models.BooleanField(_("SLA breached"), default=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # A linked ticket this one was opened from (an exchange converted into a refund, a logistics refund).
    origin = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="spawned",
        verbose_name=_("origin"),
        db_index=False,  # ticket_origin_idx: only the tickets another one spawned
    )
    # A case mirrored from a marketplace (connectors): the platform's code ("" for the shop's own tickets). Such a
    # ticket runs on the platform's clock: ``platform_due_at`` is the platform's deadline for the merchant's
    # answer (None while the merchant has nothing to answer); tickets.services.engine.step_apply puts the step's
    # deadline before it, and the sweep escalates instead of acting for the platform (it acts itself).
    platform = models.CharField(_("marketplace"), max_length=16, blank=True, editable=False)
    platform_due_at = models.DateTimeField(_("platform deadline"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # tickets.privacy: who sees a buyer's phone and email in full (supervisors' group, accounts.groups).
        permissions = [("view_buyer_contact", _("Can see buyers' phone numbers and email addresses in full"))]
        indexes = [
            models.Index(fields=["origin"], name="ticket_origin_idx", condition=Q(origin__isnull=False)),
            # The deadline sweep's index: only tickets with a running clock are in it.
            models.Index(fields=["due_at"], name="ticket_due_idx", condition=Q(due_at__isnull=False)),
            models.Index(fields=["warn_at"], name="ticket_warn_idx", condition=Q(warn_at__isnull=False)),
            models.Index(fields=["assignee", "closed_at"], name="ticket_assignee_open_idx"),
            models.Index(fields=["department", "state"], name="ticket_queue_idx"),
            models.Index(fields=["kind", "state"], name="ticket_kind_state_idx"),
            # A storefront's ticket list (api: newest first, one shop): a page is an index range, not a sort of the
            # shop's tickets.
            models.Index(fields=["shop", "-created_at", "-id"], name="ticket_shop_created_idx"),
            # The supervisors' dashboard (dashboard.selectors), both read without touching the table: open tickets
            # per kind, state and department with how many are overdue (closed history is not in this index) …
            models.Index(
                fields=["kind", "state", "department", "step_due_at"],
                name="ticket_open_idx",
                condition=Q(closed_at__isnull=True),
            ),
            # … and tickets opened per day and kind over a period. Read backwards, it is also the index of every
            # "newest first" over all tickets (the order's own index serves a ticket's order).
            models.Index(fields=["created_at", "kind"], name="ticket_created_kind_idx"),
            # The admin's queue, most urgent first (desk.admin.tickets.TicketAdmin.ordering: step deadline, which
            # a btree keeps ascending with nulls last, then priority): a page is an index scan, not a sort of every
            # ticket (0.2 ms instead of 104 ms at 200,000 tickets; one department's queue 1.3 ms instead of 60 ms).
            models.Index(fields=["step_due_at", "-priority", "id"], name="ticket_urgent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    *(Q(kind=kind, state__in=[s.value for s in states]) for kind, states in STATES_BY_KIND.items()),
                    _connector=Q.OR,
                ),
                name="ticket_state_belongs_to_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.kind} #{self.pk}"

    @property
    def state_fields(self) -> tuple[FSMFieldMixin, ...]:
        # ConcurrentTransitionMixin filters every field of the model for its state fields on each instance it
        # builds (30-odd fields, 20 tickets a page); a model's fields do not change, so once per model.
        return _state_fields(type(self))

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    def as_kind(self) -> Ticket:
        """This ticket as its kind's subclass (one query when called on a base ``Ticket``)."""
        if self.KIND:
            return self
        # Multi-table inheritance names the kind's row after its model: ReturnTicket is ``returnticket``.
        kind: Ticket = getattr(self, f"{self.kind}ticket")
        return kind

    def state_label(self) -> str:
        return state_label(self.kind, self.state)

    @property
    def reason_code(self) -> str | None:
        """The reason's code, from the process's reason-code snapshot (no query)."""
        if self.reason_id is None:
            return None
        reason = reason_codes.get().by_id.get(self.reason_id) or self.reason  # not in the snapshot: read it
        return reason.code if reason is not None else None


@functools.cache
def _state_fields(model: type[Ticket]) -> tuple[FSMFieldMixin, ...]:
    return tuple(field for field in model._meta.fields if isinstance(field, FSMFieldMixin))


class TicketLine(models.Model):
    """An order line a ticket concerns, with the quantity, and the refunds reserved for it by this ticket."""

    # Indexed by ticket_line_unique (ticket, order_line), not on its own.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="lines", verbose_name=_("ticket"), db_index=False
    )
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="ticket_lines", verbose_name=_("order line")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    refunded_amount = models.DecimalField(_("refunded amount"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("ticket line")
        verbose_name_plural = _("ticket lines")
        ordering = ["order_line_id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "order_line"], name="ticket_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="ticket_line_quantity_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="ticket_line_refund_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"

    def paid_share(self, order_line: OrderLine | None = None, *, offset: int = 0) -> Decimal:
        """What the buyer paid for this ticket's quantity of the line: the line's units ``offset`` onwards, each
        valued by the largest-remainder split of the line's paid amount (kefu.core.money.units_share).

        ``offset`` is how many of the line's units the tickets before this one hold
        (tickets.selectors.ticket_line_offsets); the shares of tickets holding the whole line sum to its paid
        amount exactly, so every ticket can be refunded its whole share.
        """
        line = order_line or self.order_line
        return units_share(line.paid_amount, line.quantity, offset=offset, count=self.quantity)


class RefundStatus(models.TextChoices):
    """A refund's lifecycle (docs/money.md): requested → submitted → succeeded / failed.

    The last three values are ``tickets.payments.PayoutStatus``'s: a payer's answer sets them as they are.
    """

    REQUESTED = "requested", _("Requested")
    SUBMITTED = "submitted", _("Submitted, being paid")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PayoutChannel(models.TextChoices):
    """How a finance clerk paid a manual refund."""

    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ALIPAY_ACCOUNT = "alipay_account", _("Alipay account")
    WECHAT = "wechat", _("WeChat")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Refund(models.Model):
    """Money going back to the buyer for a ticket, reserved against the order lines when it is fixed.

    The reservation (``OrderLine.refunded_amount``) is made under a row lock on the lines; the payer is asked
    afterwards with ``idempotency_key``, so a retried payment never pays twice. Only
    ``tickets.services.refunds.refund_settle`` moves a refund past ``submitted``; a succeeded refund always
    names its payer and when the payment was confirmed (a database check backs it).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("ticket"))
    amount = models.DecimalField(_("amount"), **MONEY)
    # The part of ``amount`` that is return postage the shop refunds (tickets.services.postage): not allocated to
    # the order lines, whose refunded amounts stay within what was paid for the goods.
    postage_amount = models.DecimalField(_("of which return postage"), default=ZERO, **MONEY)
    status = models.CharField(_("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    allocations = models.JSONField(_("allocation per order line"), default=dict)
    # Who pays: "manual" (the finance queue), a provider ("alipay", "wechatpay") or a marketplace's code.
    payer = models.CharField(_("payer"), max_length=32, blank=True)
    reference = models.CharField(_("payer's reference"), max_length=128, blank=True)
    message = models.TextField(_("payer's message"), blank=True)
    payout_channel = models.CharField(_("payout channel"), max_length=16, choices=PayoutChannel.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # Set once when a submitted refund passed KEFU_REFUND_PAYOUT_HOURS unconfirmed and the ticket was escalated.
    overdue_escalated_at = models.DateTimeField(_("escalated as overdue at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        permissions = [("pay_refund", _("Can record the payout of a refund (finance)"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | (Q(payer__gt="") & Q(confirmed_at__isnull=False)),
                name="refund_succeeded_confirmed",
            ),
        ]
        indexes = [models.Index(fields=["status", "payer", "submitted_at"], name="refund_status_payer_idx")]

    def __str__(self) -> str:
        return f"¥{self.amount} ({self.get_status_display()})"


__all__ = [
    "Department",
    "Kind",
    "PayoutChannel",
    "Priority",
    "ReasonCode",
    "Refund",
    "RefundStatus",
    "Ticket",
    "TicketLine",
    "WaitingOn",
]
