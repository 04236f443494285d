"""The bridge's Redis connections (shared pool state, usage): quick to give up, named without password."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ERRORS = (RedisError, OSError)  # what an unreachable or failing Redis raises
RETRY_SECONDS = 5.0  # after Redis failed, requests do not wait on it again before this


def connect(url: str) -> Any:
    """A client that gives up fast: requests must not hang on an unreachable Redis (one retry at once, for
    a pooled connection that a restarted Redis closed)."""
    return aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 1))


def where(url: str) -> str:
    """The URL for logs: no password."""
    return re.sub(r"//[^@/]*@", "//***@", url)


class Outage:
    """Whether Redis may be asked now: after a failure, not for RETRY_SECONDS (a Redis that hangs must not
    slow every request); the operator is told once when it goes away and once when it is back."""

    def __init__(self, url: str, fallback: str) -> None:
        self.url, self.fallback = url, fallback  # fallback: what the bridge does meanwhile, for the log
        self.retry_at = 0.0  # monotonic
        self.down = False

    def live(self) -> bool:
        return time.monotonic() >= self.retry_at

    def failed(self, e: BaseException) -> None:
        self.retry_at = time.monotonic() + RETRY_SECONDS
        if not self.down:
            self.down = True
            logger.warning("Redis at %s does not answer (%s): %s until it does", where(self.url), e, self.fallback)

    def answered(self) -> None:
        if self.down:
            self.down = False
            logger.warning("Redis at %s answers again", where(self.url))
