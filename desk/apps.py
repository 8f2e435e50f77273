from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The staff desk: every Django admin page (queues, ticket pages, bulk actions, configuration) and the
    demo data. An interface like ``api``: it calls the services of the apps below it and owns no models.
    """

    name = "desk"
    verbose_name = _("After-sales desk")
