"""Throttles per API key and per staff user, counted in the shared cache (Redis in production)."""

from rest_framework.throttling import SimpleRateThrottle

from api.clients import StorefrontClient


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, StorefrontClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}


class StaffUserRateThrottle(SimpleRateThrottle):
    scope = "staff_user"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, StorefrontClient) or not getattr(user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if getattr(request.user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
