"""Placeholder demo data: only the admin login. The full demo data set will replace this command."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 -- the demo login printed by `make run`; refused unless DEBUG is on


class Command(BaseCommand):
    help = "Create the demo superuser admin/admin (idempotent). Demo only: refuses to run with DEBUG off."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates a known password; it only runs with DJANGO_DEBUG=true.")
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        # The login `make run` prints must work, so an existing demo user gets its rights and password back.
        if created or not (user.is_staff and user.is_superuser and user.check_password(DEMO_PASSWORD)):
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.stdout.write(f"seed_demo: superuser {DEMO_USERNAME!r} {'created' if created else 'ready'}.")
