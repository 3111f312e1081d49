"""When a running inbox drain takes its next batch, and when it hands its worker back.

Under steady traffic a drain job keeps going after the inbox runs dry instead of returning: each new
job costs RQ's bookkeeping on both sides, and the rows committed while one job ends and the next
starts wait for it. Between batches the drain waits on a Redis channel that every inbox commit
publishes to (`request_inbox_drain`), so a new row is taken at once rather than at the next poll.
The channel only makes a drain prompt, never correct: a commit after a drain's read also finds the
pending flag free and enqueues a fresh drain job, so a lost message delays a row and loses nothing.

A batch costs about 8 ms of CPU before its first row (reads, commit, follow-up requests; a row adds
about 0.15 ms), so waiting drains start batches at most every MIN_SPACING_SECONDS across the whole
install (a Redis key every worker's drain passes, BATCH_GATE_KEY): rows that arrive meanwhile share
the next batch, and more workers do not mean more, smaller batches. A backlog (full batches) passes
no gate: there, workers share the rows in parallel.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import redis

WAKE_CHANNEL = "companion:inbound:wake"
BATCH_GATE_KEY = "companion:inbound:batch-gate"
# A drain that has applied fewer rows than this returns as soon as the inbox is empty (a quiet inbox,
# tests); one that has seen more lingers until nothing new came for LINGER_IDLE_SECONDS.
LINGER_MIN_ROWS = 20
LINGER_IDLE_SECONDS = 2.0
# Then it hands on to a fresh job: well inside the heartbeat RQ gives a job its worker runs in-process.
MAX_SECONDS = 30.0
MIN_SPACING_SECONDS = 0.04
# How often a waiting drain asks whether its worker wants to stop or has other queues' jobs waiting.
WAIT_SLICE_SECONDS = 0.25


class Pacer:
    """Decides, after each batch, whether a drain takes another one, and waits until rows may be there."""

    def __init__(self, connection: redis.Redis, hand_back: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hand_back, self._clock, self._redis = hand_back, clock, connection
        self._pubsub = connection.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        self._pubsub.subscribe(WAKE_CHANNEL)
        # Confirmed before the drain's first read: every commit after that read publishes to a channel
        # this drain already listens on.
        deadline = clock() + 5
        while clock() < deadline:
            message = self._pubsub.get_message(timeout=1)
            if message is not None and message["type"] == "subscribe":
                break
        self.started = self._last_rows = clock()
        self.seen = 0

    def close(self) -> None:
        """Leave the channel (the connection goes back to the client's pool)."""
        with contextlib.suppress(redis.RedisError, OSError):
            self._pubsub.close()

    def another(self, rows: int, limit: int) -> bool:
        """After a batch of `rows` (at most `limit`): True when the drain should take another batch now."""
        now = self._clock()
        self.seen += rows
        if rows:
            self._last_rows = now
        if now - self.started >= MAX_SECONDS or self._hand_back():
            return False
        if rows == limit:
            return True  # a backlog: straight on
        if self.seen < LINGER_MIN_ROWS:
            return False
        try:
            return self._woken()
        except (redis.RedisError, OSError):
            return False  # Redis went away: stop lingering; the rows wait in the database for the sweeper

    def _woken(self) -> bool:
        while True:
            idle_left = self._last_rows + LINGER_IDLE_SECONDS - self._clock()
            if idle_left <= 0:
                return False
            message = self._pubsub.get_message(timeout=min(WAIT_SLICE_SECONDS, idle_left))
            if message is not None and message["type"] == "message":
                break
            if self._hand_back():
                return False
        while self._pubsub.get_message(timeout=0) is not None:
            pass  # the wake-ups of a burst count once
        self._pass_gate()
        return True

    def _pass_gate(self) -> None:
        """Wait until no drain of the install has started a batch for MIN_SPACING_SECONDS."""
        spacing_ms = int(MIN_SPACING_SECONDS * 1000)
        while True:
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(BATCH_GATE_KEY, b"", nx=True, px=spacing_ms)
            pipe.pttl(BATCH_GATE_KEY)
            passed, left_ms = pipe.execute()
            if passed:
                return
            time.sleep(max(left_ms, 1) / 1000)  # left_ms < 0: the key just expired, try again
