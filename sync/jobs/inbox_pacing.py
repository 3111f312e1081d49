"""When a running inbox drain takes its next batch, and when it hands its worker back.

Under steady traffic a drain job keeps going after the inbox runs dry instead of returning: each new
job costs RQ's bookkeeping on both sides, and the rows committed while one job ends and the next
starts wait for it. Between batches the drain waits on a Redis channel that every inbox commit
publishes to (`request_inbox_drain`), so a new row is taken at once rather than at the next poll.
The channel only makes a drain prompt, never correct: a commit after a drain's read also finds the
pending flag free and enqueues a fresh drain job, so a lost message delays a row and loses nothing.

Batches start at most every MIN_SPACING_SECONDS: rows that arrive while one is applied, or within
that spacing, share the next one, which keeps the per-batch cost (reads, commit, follow-up requests)
from growing with the arrival rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

WAKE_CHANNEL = "companion:inbound:wake"
# A drain that has applied fewer rows than this returns as soon as the inbox is empty (a quiet inbox,
# tests); one that has seen more lingers until nothing new came for LINGER_IDLE_SECONDS.
LINGER_MIN_ROWS = 20
LINGER_IDLE_SECONDS = 2.0
# Then it hands on to a fresh job: well inside the heartbeat RQ gives a job its worker runs in-process.
MAX_SECONDS = 30.0
MIN_SPACING_SECONDS = 0.025
# How often a waiting drain asks whether its worker wants to stop or has other queues' jobs waiting.
WAIT_SLICE_SECONDS = 0.25


class Pacer:
    """Decides, after each batch, whether a drain takes another one, and waits until rows may be there."""

    def __init__(self, connection: redis.Redis, hand_back: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hand_back, self._clock = hand_back, clock
        self._pubsub = connection.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        self._pubsub.subscribe(WAKE_CHANNEL)
        # Confirmed before the drain's first read: every commit after that read publishes to a channel
        # this drain already listens on.
        deadline = clock() + 5
        while clock() < deadline:
            message = self._pubsub.get_message(timeout=1)
            if message is not None and message["type"] == "subscribe":
                break
        self.started = self._last_rows = self._last_batch = clock()
        self.seen = 0

    def close(self) -> None:
        """Leave the channel (the connection goes back to the client's pool)."""
        self._pubsub.close()

    def batch_starts(self) -> None:
        """Call before each batch's read: spacing counts from here."""
        self._last_batch = self._clock()

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
        return self._woken()

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
        spacing = self._last_batch + MIN_SPACING_SECONDS - self._clock()
        if spacing > 0:
            time.sleep(spacing)
        return True
