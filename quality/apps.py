from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Service quality")

    def ready(self) -> None:
        from quality.services import survey_event_received
        from tickets.models import TicketEvent
        from tickets.signals import ticket_event_recorded

        # After the outbox's own receiver (notifications comes first in INSTALLED_APPS): the buyer hears "closed"
        # before being asked how it went.
        ticket_event_recorded.connect(survey_event_received, sender=TicketEvent, dispatch_uid="quality.survey")
