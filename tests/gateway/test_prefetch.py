"""`Prefetch`: items in order, an error after the items before it, never more than `ahead` fetched ahead,
and a closed prefetch asks its source for nothing more."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.jsm.prefetch import Prefetch


class Source:
    """An iterator that records how many items were asked of it, whether it was closed, and can fail."""

    def __init__(self, items: list[int], fail_at: int | None = None) -> None:
        self.items, self.fail_at = items, fail_at
        self.pulled = 0
        self.closed = False
        self.advanced = threading.Condition()

    def __iter__(self) -> Iterator[int]:
        try:
            for n, item in enumerate(self.items):
                if n == self.fail_at:
                    raise RuntimeError(f"page {n} failed")
                with self.advanced:
                    self.pulled += 1
                    self.advanced.notify_all()
                yield item
        finally:
            self.closed = True

    def wait_for(self, pulled: int, timeout: float = 5.0) -> bool:
        with self.advanced:
            return self.advanced.wait_for(lambda: self.pulled >= pulled, timeout)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.integers(), max_size=12), ahead=st.integers(1, 3), fail=st.none() | st.integers(0, 12))
def test_every_item_arrives_in_order_and_an_error_after_the_items_before_it(items, ahead, fail):
    source = Source(items, fail_at=fail)
    got: list[int] = []
    fails = fail is not None and fail < len(items)
    with Prefetch(iter(source), ahead=ahead) as pages:
        if fails:
            with pytest.raises(RuntimeError, match=f"page {fail} failed"):
                got.extend(pages)
        else:
            got.extend(pages)
    assert got == items[:fail] if fails else got == items
    assert pages.stopped and source.closed


def test_at_most_one_item_is_fetched_ahead_of_the_one_being_worked_on():
    source = Source(list(range(10)))
    with Prefetch(iter(source), ahead=1) as pages:
        taken = iter(pages)
        assert next(taken) == 0
        assert source.wait_for(2)  # item 1 is fetched while item 0 is worked on ...
        time.sleep(0.2)
        assert source.pulled == 2  # ... and item 2 is not, until item 1 is taken
        assert next(taken) == 1
        assert source.wait_for(3)
        time.sleep(0.2)
        assert source.pulled == 3


def test_closing_stops_the_fetcher_before_its_next_item():
    source = Source(list(range(10)))
    with Prefetch(iter(source), ahead=1, name="test-prefetch") as pages:
        for page in pages:
            if page == 2:
                break  # the consumer is done (failed or cancelled) while page 3 may be on its way
    assert pages.stopped and source.closed
    assert source.pulled <= 4
    assert not [t for t in threading.enumerate() if t.name == "test-prefetch"]


def test_an_error_of_the_consumer_closes_the_fetcher():
    source = Source(list(range(10)))
    with pytest.raises(KeyboardInterrupt), Prefetch(iter(source), ahead=2) as pages:
        for page in pages:
            if page == 1:
                raise KeyboardInterrupt  # as Ctrl-C or an RQ job timeout would, in the consumer's thread
    assert pages.stopped and source.closed and source.pulled <= 4


def test_a_prefetch_is_iterated_inside_its_with_block_and_ahead_is_positive():
    with pytest.raises(RuntimeError, match="inside its `with`"):
        next(iter(Prefetch(iter([1]))))
    with pytest.raises(ValueError, match="ahead"):
        Prefetch(iter([1]), ahead=0)
