from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from api import key_cache, schema  # noqa: F401  (schema registers the OpenAPI auth extension)

        key_cache.connect()
