from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """Incidents (应急): one decision for every order a carrier delay, a sell-out or a recall affects."""

    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from incidents.reasons import register_reasons as register_answer_reasons
        from incidents.wording import register_reasons

        register_reasons()
        # What buyers' answers and the closing write on the tickets' timelines (incidents.reasons).
        register_answer_reasons()
