"""The finance queue's "Reconcile a statement" page: upload a provider's refund statement (Alipay 业务明细 or
WeChat Pay 退款账单, CSV or XLSX) and see what does not match kefu's refunds (tickets.services.reconciliation).
Finance only (``tickets.pay_refund``); nothing is stored or changed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.core.errors import DomainError
from tickets.services.payouts import PAY_REFUND
from tickets.services.reconciliation import MismatchKind, statement_reconcile
from tickets.statements import statement_read


class StatementForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("statement"),
        help_text=gettext_lazy("Alipay 业务明细 or WeChat Pay 退款账单, as CSV or XLSX."),
    )
    start = forms.DateField(label=gettext_lazy("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label=gettext_lazy("to (exclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Leave both empty to use the statement's own period."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("start")) != bool(data.get("end")):
            raise forms.ValidationError(_("Give both days of the period, or neither."))
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError(_("The period must end after it starts."))
        return data


def reconcile_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PAY_REFUND):
        raise PermissionDenied
    result = None
    form = StatementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            statement = statement_read(name=upload.name, content=upload.read())
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
            result = statement_reconcile(statement=statement, period=(start, end) if start and end else None)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Reconcile a refund statement"),
        "opts": model_admin.model._meta,
        "form": form,
        "result": result,
        "sections": [(kind.label, result.of_kind(kind)) for kind in MismatchKind] if result else [],
    }
    return TemplateResponse(request, "admin/tickets/refundtopay/reconcile.html", context)
