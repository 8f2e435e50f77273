from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("After-sales tickets")

    def ready(self) -> None:
        from tickets import services  # noqa: F401  (registers the engine's entry hooks)
        from tickets.models.reasons import reason_codes
        from tickets.signals import refund_ready
        from tickets.tasks import refund_ready_received

        reason_codes.connect()
        refund_ready.connect(refund_ready_received, dispatch_uid="tickets.tasks.refund_ready_received")
