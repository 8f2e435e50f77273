"""Keeping a connection's OAuth grant: refresh the access token and store the new one (encrypted).

Used before a pull when the token is about to expire (``connectors.services.sync``) and by a connector whose
platform says the session is no longer valid (Taobao's code 27: refreshed once, the call retried once). The
network call happens first; the row is then written in one UPDATE of its token fields (no lock held meanwhile).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connection, Connector

logger = logging.getLogger(__name__)


def token_renew(connector: Connector) -> Connection:
    """Refresh ``connector``'s access token and keep the grant on its connection. Raises ``PlatformError``."""
    connection = connector.connection
    grant = connector.refresh_access_token()
    connection.access_token = grant.access_token
    connection.refresh_token = grant.refresh_token or connection.refresh_token
    connection.token_expires_at = grant.expires_at
    connection.save(update_fields=["access_token", "refresh_token", "token_expires_at"])
    logger.info("access token of %s refreshed, expires %s", connection, grant.expires_at)
    return connection
