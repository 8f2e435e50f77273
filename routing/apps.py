from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing and deadlines")

    def ready(self) -> None:
        from routing import checks  # noqa: F401 - registers routing.W001
        from routing.config import calendar_schedules, departments_on_duty, reinforced_departments, routing_config

        routing_config.connect()
        departments_on_duty.connect()
        calendar_schedules.connect()
        reinforced_departments.connect()
