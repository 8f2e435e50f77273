"""The admin of every kefu app, in one interface package (like ``api`` for the REST API).

``tickets`` (the queue and ticket page), ``bulk`` (bulk actions), ``access`` (who sees what), ``finance`` (the
refunds to pay), ``config`` (reason codes and refunds), ``orders``, ``routing`` (departments, rules, policies),
``calendars`` (business hours), ``notifications`` (the delivery log, templates, channels), ``payments`` (payment
accounts, coupon pools, compensation payouts), ``replies`` (canned replies and macros), ``quality`` (回访),
``surge`` (the queue watch, its alerts, reinforcements), ``incidents`` (应急: declaring, previewing, starting,
following and closing an incident), ``system`` (Celery beat's and the login lockout's pages, headings translated).
Django's admin autodiscovery imports this package, which registers them all. The storefront API keys' page stays
with the API (api/admin.py).
"""

from desk.admin import (  # noqa: F401  (registers them)
    calendars,
    config,
    connectors,
    finance,
    incidents,
    notifications,
    orders,
    payments,
    quality,
    replies,
    risk,
    routing,
    surge,
    system,
    tickets,
)
