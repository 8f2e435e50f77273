"""Admin for shops, buyers, orders and shipments.

Shops are configuration and editable (return window, webhook). Everything else arrives from the storefront
sync or the carriers' feeds and changes only through ``orders.services`` and ``orders.shipments`` (the one path
for changes, which checks refunds and ticket references): here it is read-only, so nobody hand-edits synced
money.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.outbound.validators import validate_outbound_url
from kefu.core.privacy import mask_email, mask_phone
from orders.models import Buyer, Order, OrderLine, Shipment, Shop, TrackingEvent
from orders.services import shop_webhook_secret_rotate
from tickets.privacy import CONTACT_PERMISSION


class ReadOnlyMixin:
    """View-only: no add, change or delete, whoever the user (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShopForm(forms.ModelForm):
    """The webhook URL is refused when kefu would not send to it (kefu.core.outbound's rules, the reason
    shown); the signing secret is write-only: never shown again, left empty to keep it."""

    # Storefront webhooks are signed and must not travel in clear: a URL typed without a scheme is https.
    webhook_url = forms.URLField(
        label=_("storefront webhook URL"), required=False, max_length=200, assume_scheme="https"
    )
    webhook_secret = forms.CharField(
        label=_("webhook signing secret"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Not shown again once saved. Leave empty to keep the current secret; the action “Rotate webhook "
            "secret” makes a new random one and keeps the old one valid for a while."
        ),
    )

    class Meta:
        model = Shop
        fields = ["name", "code", "channel", "return_window_days", "webhook_url", "webhook_secret"]

    def clean_webhook_url(self) -> str:
        url: str = self.cleaned_data.get("webhook_url", "")
        validate_outbound_url(url)
        return url

    def clean_webhook_secret(self) -> str:
        secret: str = self.cleaned_data.get("webhook_secret", "")
        return secret or self.instance.webhook_secret


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    form = ShopForm
    list_display = ["name", "code", "channel", "return_window_days", "created_at"]
    list_filter = ["channel"]
    search_fields = ["name", "code"]
    fieldsets = [
        (None, {"fields": ["name", "code", "channel"]}),
        (
            _("After-sales"),
            {
                "fields": [
                    "return_window_days",
                    "compensation_cap",
                    "compensation_approval_threshold",
                    "return_postage_cap",
                    "return_address",
                ]
            },
        ),
        (
            _("Storefront webhook"),
            {
                "fields": ["webhook_url", "webhook_secret"],
                "description": _(
                    "kefu posts every ticket change to this URL, signed with the secret (X-Kefu-Signature): give "
                    "the storefront the same secret, at least 16 random characters."
                ),
            },
        ),
        (_("API keys"), {"fields": ["api_key_links"]}),
    ]
    readonly_fields = ["api_key_links"]
    actions = ["rotate_webhook_secret"]

    @admin.action(description=_("Rotate webhook secret (the old one stays valid for a while)"), permissions=["change"])
    def rotate_webhook_secret(self, request: HttpRequest, queryset: QuerySet[Shop]) -> None:
        """A new secret per selected shop, shown once in a message (as an API key is); the storefront must
        take it before the overlap ends (KEFU_WEBHOOK_SECRET_OVERLAP_HOURS)."""
        for shop_id in queryset.order_by("pk").values_list("pk", flat=True):
            rotated = shop_webhook_secret_rotate(shop_id=shop_id)
            self.message_user(
                request,
                gettext(
                    "The new webhook secret of %(shop)s is %(secret)s — copy it now into the storefront's "
                    "configuration: it will not be shown again. Until %(until)s webhooks are signed with the new "
                    "and the previous secret, so the storefront can switch meanwhile."
                )
                % {
                    "shop": rotated.shop,
                    "secret": rotated.secret,
                    "until": timezone.localtime(rotated.previous_until).strftime("%Y-%m-%d %H:%M"),
                },
                messages.WARNING,
            )

    @admin.display(description=_("storefront API keys"))
    def api_key_links(self, obj: Shop) -> str:
        """The shop's keys (prefix, name, state) and links to create one (shown once) or revoke them.

        A read-only list rather than an inline: keys are made by ``ApiKey.issue`` only, and an inline's
        formset would make every save of the shop's form carry its management data.
        """
        if obj.pk is None:
            return _("Save the shop first, then create its API key.")
        keys = format_html_join(
            "",
            "<li><code>{}</code> {} — {}</li>",
            (
                (key.masked, key.name, _("revoked") if key.revoked_at else _("active"))
                for key in obj.api_keys.order_by("-created_at")
            ),
        )
        return format_html(
            '<ul>{}</ul><a class="button" href="{}?shop={}">{}</a> &nbsp; <a href="{}?shop__id__exact={}">{}</a>',
            keys or format_html("<li>{}</li>", _("none yet")),
            reverse("admin:api_apikey_add"),
            obj.pk,
            _("Create API key"),
            reverse("admin:api_apikey_changelist"),
            obj.pk,
            _("List or revoke this shop's keys"),
        )


@admin.register(Buyer)
class BuyerAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Phones and emails masked in the list, and on the page for whoever may not see them in full
    # (tickets.privacy); searching by the full number or address still finds the buyer.
    list_display = ["__str__", "external_id", "shop", "phone_masked", "tier"]
    list_filter = ["shop", "tier"]
    search_fields = ["name", "=external_id", "=phone", "=email"]
    list_select_related = ["shop"]
    readonly_fields = ["phone_masked", "email_masked"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if request.user.has_perm(CONTACT_PERMISSION):
            return ["shop", "external_id", "name", "phone", "email", "tier"]
        return ["shop", "external_id", "name", "phone_masked", "email_masked", "tier"]

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: Buyer) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("email"))
    def email_masked(self, obj: Buyer) -> str:
        return mask_email(obj.email)


class OrderLineInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price", "paid_amount", "refunded_amount")
    readonly_fields = fields
    extra = 0


class ShipmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Shipment
    fields = ("direction", "carrier", "tracking_number", "status", "shipped_at", "delivered_at", "last_event_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "shop", "buyer", "status", "payment_provider", "shipping_insurance", "paid_at"]
    list_filter = ["shop", "status", "payment_provider", "shipping_insurance"]
    # Order numbers and phones are copied from elsewhere, so exact (indexed) matches; names match in part.
    search_fields = ["=number", "buyer__name", "=buyer__phone"]
    list_select_related = ["shop", "buyer"]
    date_hierarchy = "paid_at"
    inlines = [OrderLineInline, ShipmentInline]


class TrackingEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TrackingEvent
    fields = ("occurred_at", "status", "location", "description", "event_id")
    readonly_fields = fields
    extra = 0


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["tracking_number", "carrier", "order", "direction", "status", "last_event_at", "delivered_at"]
    list_filter = ["direction", "status", "carrier"]
    search_fields = ["=tracking_number", "=order__number"]
    list_select_related = ["order"]
    inlines = [TrackingEventInline]
