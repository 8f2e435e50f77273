from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing and deadlines")

    def ready(self) -> None:
        from routing.config import departments_on_duty, routing_config

        routing_config.connect()
        departments_on_duty.connect()
