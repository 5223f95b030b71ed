"""A per-client sliding-window rate limit kept in memory (one process; enough for one form)."""

from __future__ import annotations

import ipaddress
import threading
from collections import deque
from collections.abc import Callable


def client_key(ip: str) -> str:
    """The rate-limit key of a client address: an IPv6 address counts as its /64 network,
    which one subscriber line usually holds whole (else each of its addresses is a new key)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key (a client address)."""

    # Past this many keys, idle ones are dropped so a flood of addresses cannot grow memory.
    PRUNE_AT = 10_000

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        # Sync routes run in a thread pool: hits from two threads must not interleave.
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; None when allowed, else the seconds until the next one would be."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            if len(self._hits) > self.PRUNE_AT:
                self._prune(now)
            return None

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
