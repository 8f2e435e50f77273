from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurgeConfig(AppConfig):
    """Surge: each department's queue watched for breaches to come, reinforcement, and the planning simulator."""

    name = "surge"
    verbose_name = _("Surge")
