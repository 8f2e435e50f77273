"""Payment accounts (keys write-only), the coupon pools (import codes, a low pool warns) and compensation
payouts (paid here through payments.services.payouts, the same service as every other caller)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from desk.admin.access import request_actor
from desk.admin.connectors import _secret_field
from kefu.core.errors import DomainError
from orders.models import Shop
from payments.gateways.alipay_certificates import FIELDS as CERTIFICATES
from payments.gateways.alipay_certificates import certificate_problems, normalized
from payments.models import CompensationPayout, CouponCode, PaymentAccount
from payments.services.coupons import coupon_import
from payments.services.payouts import compensation_pay, payout_transfer_execute
from tickets.models import Ticket
from tickets.payments import GatewayError, PayoutStatus

SECRETS = ("private_key", "apiv3_key")


class PaymentAccountForm(forms.ModelForm):
    """The keys are write-only: never rendered back, an empty field keeps the stored value."""

    private_key = _secret_field(_("private key"))
    apiv3_key = _secret_field(_("APIv3 key"))
    base_url = forms.URLField(label=_("gateway address"), required=False, assume_scheme="https")
    notify_url = forms.URLField(label=_("notification address"), required=False, assume_scheme="https")

    class Meta:
        model = PaymentAccount
        fields = [
            "shop",
            "provider",
            "active",
            "base_url",
            "app_id",
            "merchant_id",
            "merchant_serial",
            "private_key",
            "provider_public_key",
            "provider_key_id",
            "app_certificate",
            "provider_certificate",
            "provider_root_certificate",
            "apiv3_key",
            "notify_url",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in SECRETS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        if not cleaned.get("private_key"):
            self.add_error("private_key", _("The private key that signs the requests is needed."))
        certificates = {name: normalized(cleaned.get(name) or "") for name in CERTIFICATES}
        cleaned.update(certificates)
        problems = certificate_problems(private_key=cleaned.get("private_key") or "", certificates=certificates)
        for name, message in problems.items():
            self.add_error(name, message)
        return cleaned


@admin.register(PaymentAccount)
class PaymentAccountAdmin(admin.ModelAdmin):
    form = PaymentAccountForm
    list_display = ("__str__", "provider", "app_id", "merchant_id", "active")
    list_filter = ("provider", "active")
    search_fields = ("shop__name", "shop__code", "app_id", "merchant_id")


class CouponImportForm(forms.ModelForm):
    """Adding codes: one a line, ``CODE`` (worth ``value``) or ``CODE,VALUE``."""

    codes = forms.CharField(
        label=_("codes"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("One a line: CODE, or CODE,VALUE. Codes already in the pool are skipped."),
    )
    value = forms.DecimalField(label=_("value (¥)"), required=False, min_value=Decimal("0.01"), decimal_places=2)

    class Meta:
        model = CouponCode
        fields = ["shop"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        shop, text = cleaned.get("shop"), cleaned.get("codes")
        if shop is not None and text:
            try:
                self.added = coupon_import(shop=shop, text=text, value=cleaned.get("value"))
            except DomainError as exc:
                self.add_error("codes", exc.message)
        return cleaned


class IssuedFilter(admin.SimpleListFilter):
    title = _("issued")
    parameter_name = "issued"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("In the pool")), ("yes", _("Issued"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CouponCode]) -> QuerySet[CouponCode]:
        if self.value() in ("yes", "no"):
            return queryset.filter(issued_to__isnull=self.value() == "no")
        return queryset


@admin.register(CouponCode)
class CouponCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "shop", "value", "issued_to", "issued_at")
    list_filter = (IssuedFilter, "shop")
    search_fields = ("code", "issued_to__number")
    list_select_related = ("shop", "issued_to")
    readonly_fields = ("shop", "code", "value", "issued_to", "issued_at", "imported_at")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = CouponImportForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("shop", "codes", "value")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An unissued code may be withdrawn; an issued one is the record of a compensation.
        return super().has_delete_permission(request, obj) and (obj is None or obj.issued_to_id is None)

    def save_model(self, request: HttpRequest, obj: CouponCode, form: Any, change: bool) -> None:
        added = getattr(form, "added", 0)
        # The codes were imported by the form (payments.services.coupons); the admin's own row is one of them.
        obj.pk = CouponCode.objects.filter(shop=obj.shop).order_by("-pk").values_list("pk", flat=True).first()
        self.message_user(
            request,
            ngettext("%(count)d code added to the pool.", "%(count)d codes added to the pool.", added)
            % {"count": added},
            messages.SUCCESS,
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Warn above the list about every shop whose pool runs low (fewer codes left than KEFU_COUPON_POOL_LOW)."""
        for shop_name, left in pools_running_low():
            self.message_user(
                request,
                ngettext(
                    "%(shop)s has %(count)d coupon code left: import more.",
                    "%(shop)s has %(count)d coupon codes left: import more.",
                    left,
                )
                % {"shop": shop_name, "count": left},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


def pools_running_low() -> list[tuple[str, int]]:
    """Shops that have a coupon pool with fewer unissued codes than ``KEFU_COUPON_POOL_LOW`` (one query)."""
    shops = (
        Shop.objects.filter(coupon_codes__isnull=False)
        .annotate(left=Count("coupon_codes", filter=Q(coupon_codes__issued_to__isnull=True)))
        .filter(left__lt=settings.KEFU_COUPON_POOL_LOW)
        .order_by("name")
        .distinct()
    )
    return [(shop.name, shop.left) for shop in shops]


class PayoutForm(forms.ModelForm):
    """Paying a compensation: the form runs ``compensation_pay`` (one path), its refusals shown on the form."""

    ticket = forms.ModelChoiceField(
        label=_("ticket"),
        queryset=Ticket.objects.filter(kind="logistics", state="compensating"),
        help_text=_("A logistics ticket waiting for its compensation."),
    )

    class Meta:
        model = CompensationPayout
        fields = ["ticket", "method", "payee", "payee_name", "reference"]

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["reference"].help_text = _("Paid by hand: the transfer's reference or a note.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ticket = cleaned.get("ticket")
        if ticket is None or self.request is None or self.errors:
            return cleaned
        try:
            self.payout = compensation_pay(
                ticket=ticket.as_kind(),
                method=cleaned["method"],
                actor=request_actor(self.request),
                payee=cleaned.get("payee") or "",
                payee_name=cleaned.get("payee_name") or "",
                reference=cleaned.get("reference") or "",
            )
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
        return cleaned

    def _post_clean(self) -> None:
        pass  # the service built and saved the payout; the form's own instance is not used


@admin.register(CompensationPayout)
class CompensationPayoutAdmin(admin.ModelAdmin):
    list_display = ("ticket", "method", "amount", "status", "reference", "paid_at", "attempts")
    list_filter = ("status", "method")
    search_fields = ("ticket__number", "reference", "idempotency_key")
    list_select_related = ("ticket",)
    actions = ["send_again"]
    readonly_fields = (
        "ticket",
        "method",
        "amount",
        "status",
        "idempotency_key",
        "payee",
        "payee_name",
        "coupon",
        "reference",
        "message",
        "attempts",
        "recorded_by",
        "created_at",
        "paid_at",
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        form_class = PayoutForm

        class RequestPayoutForm(form_class):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, request=request, **form_kwargs)

        return RequestPayoutForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("ticket", "method", "payee", "payee_name", "reference")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CompensationPayout, form: Any, change: bool) -> None:
        obj.pk = form.payout.pk  # saved by the service in the form's clean (same request transaction)
        if form.payout.status == PayoutStatus.SUBMITTED:
            self.message_user(request, _("The transfer is on its way; the ticket resolves once it is paid."))

    @admin.action(description=_("Send the selected transfers again (same number: never paid twice)"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[CompensationPayout]) -> None:
        for payout in queryset.filter(status=PayoutStatus.SUBMITTED):
            try:
                payout_transfer_execute(payout_id=payout.pk)
            except GatewayError as exc:
                self.message_user(request, f"{payout.ticket}: {exc}", messages.WARNING)
