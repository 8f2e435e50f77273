from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("After-sales tickets")

    def ready(self) -> None:
        from tickets import services  # noqa: F401  (registers the engine's entry hooks)
        from tickets.config import reason_codes

        reason_codes.connect()
