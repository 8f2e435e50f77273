#!/usr/bin/env python
"""Django's command-line utility for kefu."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Read the settings before Django's command runner does: it sets a settings error aside and runs on, so a
    # command such as makemigrations then fails with "Models aren't loaded yet" instead of saying what is wrong
    # (e.g. no DJANGO_SECRET_KEY with DEBUG off).
    try:
        settings.INSTALLED_APPS  # noqa: B018  (reading it loads the settings module)
    except ImproperlyConfigured as exc:
        sys.exit(f"ImproperlyConfigured: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
