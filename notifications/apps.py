from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications.config import notification_config, staff_emails
        from notifications.services import notification_event_received
        from tickets.models import TicketEvent
        from tickets.signals import ticket_event_recorded

        notification_config.connect()
        staff_emails.connect()
        # The outbox subscribes to the ticket core's timeline: every entry may be a message to someone.
        ticket_event_recorded.connect(
            notification_event_received, sender=TicketEvent, dispatch_uid="notifications.outbox"
        )
