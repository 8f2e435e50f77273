"""Incidents (应急) in the admin: declaring one (``forms``), its preview, start, live progress, extension and closing
(``pages``), the page itself (``admin``), and how an incident is put in words (``display``). The queue's filter on
an incident's tickets lives with the ticket list's other filters (desk.admin.filters)."""

from desk.admin.incidents import admin  # noqa: F401  (registers it)
