"""The project as an app: only so that ``kefu.checks`` is registered when Django starts (``ready``)."""

from django.apps import AppConfig


class KefuConfig(AppConfig):
    name = "kefu"
    verbose_name = "kefu"

    def ready(self) -> None:
        from kefu import checks  # noqa: F401  (registers the checks of `manage.py check --deploy`)
