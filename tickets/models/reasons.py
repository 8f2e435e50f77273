"""Reason codes (why a buyer asks) and the process's snapshot of them (see kefu.core.config_cache)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.core.config_cache import ConfigSnapshot


class ReasonCode(models.Model):
    """Why a buyer asks (七天无理由, quality problem, …). Shipped as defaults by a data migration."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    kinds = models.JSONField(
        _("ticket kinds"), default=list, help_text=_("The ticket kinds this reason may be chosen for.")
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)

    class Meta:
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.label_en if (get_language() or "").startswith("en") else self.label_zh

    def allows(self, kind: str) -> bool:
        return self.active and kind in self.kinds


@dataclass(frozen=True)
class Reasons:
    by_code: dict[str, ReasonCode]
    by_id: dict[int, ReasonCode]


def _load() -> Reasons:
    reasons = list(ReasonCode.objects.all())
    return Reasons(by_code={r.code: r for r in reasons}, by_id={r.pk: r for r in reasons})


reason_codes = ConfigSnapshot("reasons", _load, watch=("tickets.ReasonCode",))
