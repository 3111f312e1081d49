"""A drain's next inbox batch, claimed and parsed while the current batch's statements run (PostgreSQL).

A batch spends about half its time waiting for the database (its upserts, its outcome UPDATE) and the
rest in Python (parsing payloads, applying in memory, building parameters); one after the other, each
side idles while the other works. Under a backlog the drain therefore claims and parses batch N+1 on a
second connection, in a thread, while batch N runs: the thread gets the interpreter while the drain's
thread waits on its socket.

Safe as two drains side by side are: the claim skips locked rows (batch N's stay locked until it
commits), claiming locks no ticket (batch N+1 locks its tickets when it is applied, in id order, as any
drain does), and a batch claimed but never applied (the drain stops first) rolls back: its rows stay
pending, no attempt counted. SQLite has one writer and its claim takes the write lock, so a drain there
claims each batch when it needs it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from sync.inbound.drain import ClaimedBatch, claim_batch

if TYPE_CHECKING:
    from sync.runtime import Runtime


class NextBatch:
    """Claims a drain's batches: the next one in the background when `ahead` asks for it, else on `take`."""

    def __init__(self, runtime: Runtime, limit: int) -> None:
        self._runtime, self._limit = runtime, limit
        self._enabled = runtime.engine.dialect.name == "postgresql"
        self._executor: ThreadPoolExecutor | None = None
        self._next: Future[ClaimedBatch] | None = None

    def ahead(self) -> None:
        """Start claiming the next batch now (PostgreSQL; once at a time)."""
        if not self._enabled or self._next is not None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="inbox-next-batch")
        self._next = self._executor.submit(claim_batch, self._runtime, self._limit)

    def take(self) -> ClaimedBatch:
        """The batch claimed ahead (its error, if claiming it failed), else one claimed now."""
        if self._next is None:
            return claim_batch(self._runtime, self._limit)
        future, self._next = self._next, None
        return future.result()

    def close(self) -> None:
        """Give back a batch claimed ahead and not taken, and end the thread."""
        future, self._next = self._next, None
        try:
            if future is not None and future.exception() is None:
                future.result().release()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
