"""How much one person or one client may do in a window of time.

Each limit counts in fixed windows (`RATE_LIMITS`: so many per so many seconds, all
of a window's allowance usable at once, so bursts pass and the sustained rate is the
allowance over the window). Counters live in the `limits` cache: Redis when REDIS_URL
is set, so every worker counts together, process memory on the embedded default.
A refusal says when to come back: HTTP 429 with Retry-After, or an error frame.
Logins are django-axes' (workshop/settings.py); what a single socket may ask is
counted on the socket (sessions/consumers.py).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)
CACHE = "limits"


class Limited(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    name: str  # a key of settings.RATE_LIMITS
    message: str  # what the person can do about it; "{seconds}" is filled in

    def allowance(self) -> tuple[int, int]:
        count, seconds = settings.RATE_LIMITS[self.name]
        return int(count), int(seconds)

    def _key(self, who: str, now: float) -> tuple[str, int, int, int]:
        count, seconds = self.allowance()
        window = int(now // seconds)
        return f"limit:{self.name}:{who}:{window}", count, seconds, window

    def _refuse(self, now: float, seconds: int, window: int) -> Limited:
        retry_after = max(1, math.ceil((window + 1) * seconds - now))
        return Limited(self.message.format(seconds=retry_after), retry_after)

    def check(self, who: str) -> None:
        """Raise Limited if `who` is past the allowance already (counting nothing)."""
        now = time.time()
        key, count, seconds, window = self._key(who, now)
        try:
            used = counters().get(key) or 0
        except Exception as error:  # noqa: BLE001 - as in hit()
            _unavailable(error)
            return
        if used >= count:
            raise self._refuse(now, seconds, window)

    def hit(self, who: str) -> None:
        """Count one more for `who`; raise Limited once past the window's allowance."""
        now = time.time()
        key, count, seconds, window = self._key(who, now)
        try:
            used = _count(key, seconds)
        except Exception as error:  # noqa: BLE001 - the counters' Redis is away
            _unavailable(error)
            return  # nothing is limited until it is back, rather than nothing saved
        if used > count:
            raise self._refuse(now, seconds, window)


@functools.cache
def counters() -> BaseCache:
    """The counters' cache, one client for the process. (`caches[CACHE]` is one per
    request under ASGI, each with a Redis connection pool of its own: every write
    opened a new connection to Redis, about a tenth of its time.)"""
    return caches.create_connection(CACHE)


@receiver(setting_changed)
def _new_caches(*, setting: str, **kwargs: object) -> None:
    if setting == "CACHES":  # tests that point the counters elsewhere
        counters.cache_clear()


def _count(key: str, seconds: int) -> int:
    cache = counters()
    if cache.add(key, 1, timeout=seconds + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, timeout=seconds + 1)
        return 1


_last_warned = 0.0


def _unavailable(error: Exception) -> None:
    global _last_warned
    if time.monotonic() - _last_warned > 60:
        _last_warned = time.monotonic()
        log.warning("Rate limits are not counted while their cache is unavailable: %s",
                    error)


WRITES = Limit("writes", "You are saving faster than the board takes changes. Wait "
                         "{seconds} s and save again: your text is still in the form.")
JOINS = Limit("joins", "Too many people joined from this network just now. Wait "
                       "{seconds} s and press Join again.")
JOINS_PER_LINK = Limit("joins_per_link", "Too many people are joining by this link at "
                                         "once. Wait {seconds} s and press Join again.")
BAD_LINKS = Limit("bad_links", "Too many wrong join links were tried from this network. "
                               "Wait {seconds} s, then open the link the facilitator "
                               "shared.")


def client_address(request: HttpRequest) -> str:
    # The server sets it from the proxy's X-Forwarded-For when told to trust the proxy
    # (daphne --proxy-headers); a header the client sends is never read here.
    return request.META.get("REMOTE_ADDR") or "unknown"


def too_many(error: Limited) -> HttpResponse:
    response = HttpResponse(error.message, status=429,
                            content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(error.retry_after)
    return response
