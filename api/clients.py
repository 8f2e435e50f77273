"""Who a storefront request is: the shop its API key belongs to (``request.user`` of a storefront request).

Every storefront view scopes its queries to ``client.shop``; ``api.key_cache`` keeps verified clients per process.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.models import ApiKey
from orders.models import Shop


@dataclass(frozen=True)
class StorefrontClient:
    shop: Shop
    api_key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False

    @property
    def pk(self) -> str:
        return f"key:{self.api_key.pk}"
