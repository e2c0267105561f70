"""QuickBooks' limits per realm, shared by every worker: a request budget in Redis.

Intuit allows 500 requests a minute and 10 a second per realm (and app), and 40 batch
requests (/batch, up to 30 operations each) a minute; a 429 means wait at least 60 s. A batch
counts as one request in the first two windows and one in the batch window. The budget is two sliding windows (sorted sets of the requests' times: at most 10
in any 1.5 s, 500 in any 61 s: requests taken 1 s apart can arrive closer on a busy machine; a token bucket would let 10 + 10 through in one second),
checked and taken in one Lua script, so workers on any machine share them; a 429 sets a
back-off every worker honours.
"""
from __future__ import annotations

import hashlib
import time

from flask import current_app

from app.queue import redis_connection

BACKOFF_AFTER_429_S = 60
MAX_WAIT_S = 5.0  # longer than this (a back-off): the push is tried again later, the worker not held
MAX_BATCH_WAIT_S = 30.0  # a batch carries up to 30 pushes: worth holding a worker for its turn

_TAKE = """
local now = tonumber(ARGV[1])
local per_min = tonumber(ARGV[2])
local per_sec = tonumber(ARGV[3])
local per_batch = tonumber(ARGV[4])
local until_ = tonumber(redis.call('GET', KEYS[3]) or '0')
if until_ > now then return tostring(until_ - now) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - SECOND)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - MINUTE)
local in_sec = redis.call('ZCARD', KEYS[1])
local in_min = redis.call('ZCARD', KEYS[2])
local in_batch = 0
if per_batch > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - MINUTE)
  in_batch = redis.call('ZCARD', KEYS[5])
end
if in_sec < per_sec and in_min < per_min and (per_batch == 0 or in_batch < per_batch) then
  local member = ARGV[1] .. ':' .. redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('ZADD', KEYS[2], now, member)
  if per_batch > 0 then
    redis.call('ZADD', KEYS[5], now, member)
    redis.call('PEXPIRE', KEYS[5], 62000)
    redis.call('INCR', KEYS[6])
    redis.call('EXPIRE', KEYS[6], 86400)
  end
  redis.call('PEXPIRE', KEYS[1], 2000)
  redis.call('PEXPIRE', KEYS[2], 62000)
  redis.call('EXPIRE', KEYS[4], 86400)
  return '0'
end
local wait = 0
if in_sec >= per_sec then
  local oldest = redis.call('ZRANGE', KEYS[1], in_sec - per_sec, in_sec - per_sec, 'WITHSCORES')
  wait = tonumber(oldest[2]) + SECOND - now
end
if in_min >= per_min then
  local oldest = redis.call('ZRANGE', KEYS[2], in_min - per_min, in_min - per_min, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + MINUTE - now)
end
if per_batch > 0 and in_batch >= per_batch then
  local oldest = redis.call('ZRANGE', KEYS[5], in_batch - per_batch, in_batch - per_batch, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + MINUTE - now)
end
return tostring(math.max(wait, 0.001))
""".replace("SECOND", "1.5").replace("MINUTE", "61")  # over Intuit's windows: requests bunch up in transit
_BACK_OFF = """
local until_ = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'EX', math.ceil(tonumber(ARGV[2])) + 5)
end
return 1
"""


class Throttled(Exception):
    """QuickBooks may not be asked now (a 429's back-off): try again after `wait` seconds."""

    def __init__(self, wait: float):
        super().__init__(f"QuickBooks rate limit: try again in {wait:.0f} s")
        self.wait = wait


def _keys(realm_id: str) -> tuple[str, str, str, str, str, str]:
    """(second window, minute window, back-off, requests counter, batch minute window, batches
    counter) of the realm."""
    tag = hashlib.sha256(realm_id.encode()).hexdigest()[:16]  # the realm id is not written out
    return (f"crm:qbo:{tag}:second", f"crm:qbo:{tag}:minute", f"crm:qbo:{tag}:backoff",
            f"crm:qbo:{tag}:requests", f"crm:qbo:{tag}:batch-minute", f"crm:qbo:{tag}:batches")


def take(realm_id: str, now: float | None = None, *, batch: bool = False) -> float:
    """Take one request (a batch request: also one of the batch window) from the realm's
    windows: 0 when granted, else how long to wait."""
    config = current_app.config
    wait = redis_connection().eval(_TAKE, 6, *_keys(realm_id), repr(time.time() if now is None else now),
                                   config["QBO_REQUESTS_PER_MINUTE"], config["QBO_REQUESTS_PER_SECOND"],
                                   config["QBO_BATCHES_PER_MINUTE"] if batch else 0)
    return float(wait)


def acquire(realm_id: str, max_wait: float = MAX_WAIT_S, *, batch: bool = False) -> None:
    """Wait for a request's turn (bounded); a longer wait (a back-off) raises Throttled."""
    deadline = time.monotonic() + max_wait
    while True:
        wait = take(realm_id, batch=batch)
        if wait <= 0:
            return
        if wait > max_wait or time.monotonic() + wait > deadline:
            raise Throttled(wait)
        time.sleep(wait)


def back_off(realm_id: str, seconds: float = BACKOFF_AFTER_429_S, now: float | None = None) -> float:
    """After a 429: nobody asks this realm for `seconds` (at least 60). Returns the end (epoch)."""
    seconds = max(seconds, BACKOFF_AFTER_429_S)
    until = (time.time() if now is None else now) + seconds
    redis_connection().eval(_BACK_OFF, 1, _keys(realm_id)[2], repr(until), seconds)
    return until


def backoff_until(realm_id: str) -> float | None:
    raw = redis_connection().get(_keys(realm_id)[2])
    return float(raw) if raw else None


def requests_sent(realm_id: str) -> int:
    return int(redis_connection().get(_keys(realm_id)[3]) or 0)


def batches_sent(realm_id: str) -> int:
    return int(redis_connection().get(_keys(realm_id)[5]) or 0)
