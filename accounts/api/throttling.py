from django.conf import settings
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from shop.core.cache import CacheWithLocalFallback


class RegisterRateThrottle(SimpleRateThrottle):
    """Registrations per client IP, logged in or not, at REGISTER_RATE."""

    scope = "register"
    # While Redis is away, counted per process rather than not at all.
    cache = CacheWithLocalFallback()

    def get_rate(self) -> str | None:
        # Read at request time (DRF copies the rates onto the class at import), so a changed
        # REST_FRAMEWORK setting applies without a restart of the test process.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope, settings.REGISTER_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
