"""Fetch the next item of a slow iterator (a JSM search's pages) in a background thread while this one works.

A big site's full reconcile takes turns: wait for page N from JSM, apply it to the store, wait for page
N+1. With `Prefetch`, page N+1 is on its way (through the same throttle) while page N is applied, so a
run costs about max(fetching, applying) per page instead of their sum.

Bounded: the fetcher starts an item only once the consumer has taken the previous one, so at most
`ahead` items wait beyond the one being worked on (memory stays a page or two, whatever the site's
size). Nothing is lost or reordered: items arrive in the source's order, and an error of the source is
raised to the consumer after every item fetched before it. Closing (the consumer is done, failed or
was cancelled) stops the fetcher before its next item: one already under way is dropped, none after
it is asked for.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long close() waits for a fetch under way (an HTTP call, or a throttle wait) before leaving the
# daemon thread to finish and drop its item on its own.
JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Done:
    pass


_DONE = _Done()


class Prefetch(Generic[T]):
    """Iterate `source` in a daemon thread, at most `ahead` items ahead of the consumer. Use as a context manager."""

    def __init__(self, source: Iterator[T], *, ahead: int = 1, name: str = "prefetch") -> None:
        if ahead < 1:
            raise ValueError("ahead must be at least 1")
        self._source = source
        self._items: queue.SimpleQueue[T | _Failed | _Done] = queue.SimpleQueue()
        self._credits = threading.Semaphore(ahead)
        self._stop = threading.Event()
        # The caller's context (its log request id) goes with the thread, so the JSM calls it logs
        # stay attributed to the run that made them.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._fetch,), name=name, daemon=True)
        self._started = False

    def __enter__(self) -> Prefetch[T]:
        self._thread.start()
        self._started = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        if not self._started:
            raise RuntimeError("iterate a Prefetch inside its `with` block")
        while True:
            item = self._items.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            self._credits.release()  # the next one may be fetched while this one is worked on
            yield item

    def close(self) -> None:
        """Stop fetching: nothing more is asked of the source. Waits a little for a fetch under way."""
        self._stop.set()
        self._credits.release()  # wake a fetcher waiting for its turn, so it sees the stop
        if self._started and self._thread.is_alive():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("%s: a fetch is still under way after %.0f s; its result will be dropped",
                            self._thread.name, JOIN_TIMEOUT_S)

    @property
    def stopped(self) -> bool:
        """Whether the fetcher has finished (source exhausted, failed, or closed)."""
        return self._started and not self._thread.is_alive()

    def _fetch(self) -> None:
        try:
            while True:
                self._credits.acquire()
                if self._stop.is_set():
                    return
                try:
                    item = next(self._source)
                except StopIteration:
                    self._items.put(_DONE)
                    return
                except BaseException as exc:  # handed to the consumer, who decides; nothing dies silently here
                    self._items.put(_Failed(exc))
                    return
                if self._stop.is_set():
                    return  # closed while this one was fetched: nobody will take it
                self._items.put(item)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()  # a generator's own cleanup runs in the thread that ran it
