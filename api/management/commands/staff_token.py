"""``manage.py staff_token``: issue, list and revoke staff users' API tokens (api.models.StaffToken).

manage.py staff_token issue <username> --name "carrier feed" [--hours 720]   # prints the token once
manage.py staff_token list [<username>]
manage.py staff_token revoke <prefix> | --user <username>
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from api.models import StaffToken, staff_tokens_revoke


class Command(BaseCommand):
    help = "Issue (shown once), list or revoke staff users' API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        issue = commands.add_parser("issue", help="Issue a token for an active staff user; prints it once.")
        issue.add_argument("username")
        issue.add_argument("--name", required=True, help="What uses it, e.g. 'carrier feed'.")
        issue.add_argument("--hours", type=float, help="Lifetime (default: KEFU_STAFF_TOKEN_TTL_HOURS).")
        listing = commands.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("username", nargs="?")
        revoke = commands.add_parser("revoke", help="Revoke one token by its prefix, or every token of a user.")
        revoke.add_argument("prefix", nargs="?")
        revoke.add_argument("--user", dest="revoke_user")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return user

    def _issue(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        if not (user.is_active and user.is_staff):
            raise CommandError(f"{user.get_username()} is not an active staff user.")
        hours = options["hours"]
        if hours is not None and hours <= 0:
            raise CommandError("--hours must be above 0.")
        token, raw = StaffToken.issue(user=user, name=options["name"], hours=hours)
        self.stderr.write(
            f"Token {token.masked} of {user.get_username()}, valid until "
            f"{timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}. It is stored only as a hash: copy it now."
        )
        self.stdout.write(raw)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = StaffToken.objects.select_related("user").order_by("user__username", "-created_at")
        if options["username"]:
            tokens = tokens.filter(user=self._user(options["username"]))
        now = timezone.now()
        for token in tokens:
            status = "revoked" if token.revoked_at else "expired" if token.is_expired(now) else "active"
            self.stdout.write(
                f"{token.masked}\t{token.user.get_username()}\t{token.name}\t{status}\t"
                f"expires {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        if bool(options["prefix"]) == bool(options["revoke_user"]):
            raise CommandError("Name a token's prefix or --user, not both.")
        if options["prefix"]:
            prefix = options["prefix"].removeprefix("kefustaff_").split("_")[0]
            tokens = StaffToken.objects.filter(prefix=prefix)
            if not tokens.exists():
                raise CommandError(f"No token with prefix {prefix!r}.")
        else:
            tokens = StaffToken.objects.filter(user=self._user(options["revoke_user"]))
        self.stdout.write(f"{staff_tokens_revoke(tokens)} token(s) revoked.")
