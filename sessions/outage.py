"""One log line per outage, not one traceback per message.

While Redis is down every broadcast and every socket handshake fails; logging each
with a traceback buried the one line that mattered (about 700 per 10 s outage). An
`Outage` logs the first failure, counts the rest, and logs once more on recovery.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("sessions.outage")


# After a recovery, failures this soon are the same outage's tail (redis-py's pooled
# connections opened before a restart fail once each on their next command), not a new
# outage: they are counted, and the outage is reported over when they stop.
SETTLE_SECONDS = 30.0


class Outage:
    def __init__(self, what: str):
        self.what = what
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0
        self._back_at = float("-inf")
        self._tail = False  # failing again right after a recovery that was logged

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failures += 1
            if self._since is not None:
                return
            self._since = time.monotonic()
            self._tail = self._since - self._back_at < SETTLE_SECONDS
            if self._tail:
                return
        log.warning("%s unavailable (%s: %s); further failures are counted until it is back",
                    self.what, type(error).__name__, error)

    def succeeded(self) -> None:
        if self._since is None:  # the common case costs no lock
            return
        with self._lock:
            if self._since is None:
                return
            lasted, failures, tail = time.monotonic() - self._since, self._failures, self._tail
            self._since, self._failures, self._tail = None, 0, False
            self._back_at = time.monotonic()
        if tail:
            return
        log.warning("%s is back after %.1f s; %d operations failed meanwhile",
                    self.what, lasted, failures)


# The channel layer (Redis in production): broadcasts and socket handshakes.
CHANNEL_LAYER = Outage("The channel layer")
