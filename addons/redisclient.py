"""The bridge's Redis connections (shared pool state, usage): quick to give up, named without password."""

from __future__ import annotations

import re
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

ERRORS = (RedisError, OSError)  # what an unreachable or failing Redis raises


def connect(url: str) -> Any:
    """A client that gives up fast: requests must not hang on an unreachable Redis (one retry at once, for
    a pooled connection that a restarted Redis closed)."""
    return aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 1))


def where(url: str) -> str:
    """The URL for logs: no password."""
    return re.sub(r"//[^@/]*@", "//***@", url)
