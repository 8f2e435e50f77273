"""Canned replies (快捷短语) with a body per language, and macros (a reply, field changes and a transition).

Both belong to a shop and a department, either blank for all; the desk offers a ticket those of its shop and of
the agent's departments (replies.selectors). Bodies are templates with a fixed, small set of variables
(replies.rendering.VARIABLES), checked when saved.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.vocabulary import Kind, Priority
from notifications.models import Language
from orders.models import Shop
from routing.models import Department


class Scoped(models.Model):
    """A shop and a department, each blank for all."""

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shop"),
        help_text=_("Empty: every shop."),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        help_text=_("Empty: every department."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        abstract = True


class CannedReply(Scoped):
    title = models.CharField(_("title"), max_length=100)
    keywords = models.CharField(
        _("keywords"),
        max_length=200,
        blank=True,
        help_text=_("Words agents type to find it, separated by spaces or commas (退货 地址 return address)."),
    )

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class CannedReplyText(models.Model):
    """The reply in one language; the buyer gets the one in their language (replies.rendering.buyer_language)."""

    reply = models.ForeignKey(CannedReply, on_delete=models.CASCADE, related_name="texts", verbose_name=_("reply"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("reply text")
        verbose_name_plural = _("reply texts")
        ordering = ["language"]
        constraints = [models.UniqueConstraint(fields=["reply", "language"], name="reply_text_unique_language")]

    def __str__(self) -> str:
        return f"{self.reply} / {self.language}"


class Macro(Scoped):
    """One click on the ticket page: the reply to the buyer, an internal note, a priority, then a transition.

    ``action`` is a transition of tickets of ``kind`` (the catalogue, tickets.actions) with ``inputs`` for its
    declared needs; blank: no transition (then the macro fits tickets of any kind when ``kind`` is blank too).
    replies.services.macro_apply runs it all in one transaction; the desk offers a macro only when its
    transition applies to the ticket now.
    """

    title = models.CharField(_("title"), max_length=100)
    reply = models.ForeignKey(
        CannedReply,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="macros",
        verbose_name=_("reply to the buyer"),
    )
    note = models.TextField(_("internal note"), blank=True, help_text=_("Staff only; may use the same variables."))
    priority = models.PositiveSmallIntegerField(
        _("set priority"), choices=Priority.choices, null=True, blank=True, help_text=_("Empty: unchanged.")
    )
    kind = models.CharField(_("ticket kind"), max_length=16, choices=Kind.choices, blank=True)
    action = models.CharField(
        _("transition"),
        max_length=32,
        blank=True,
        help_text=_("The name of a transition of tickets of this kind (approve, reject, …); empty: none."),
    )
    inputs = models.JSONField(
        _("transition inputs"),
        default=dict,
        blank=True,
        help_text=_('What the transition takes, by name: {"reason": "…"}.'),
    )

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title
