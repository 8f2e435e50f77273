"""The tickets admin: the queue and ticket page (``tickets``), bulk actions (``bulk``), who sees what
(``access``), reason codes and refunds (``config``). Importing the package registers them.
"""

from tickets.admin import config, tickets  # noqa: F401  (registers the model admins)
