"""The issue ids a full reconcile has listed, for the deletion check that follows it.

A big site's project lists hundreds of thousands of issues, and a Python set of their id strings costs
about 90 bytes each (44 MB for 500,000, most of the worker's growth between 100,000 and 1,000,000
tickets). Jira's issue ids are decimal numbers, so they go into a compressed bitmap (pyroaring: about
a quarter of a byte each for a site's dense ids); anything else Jira might send stays in a plain set.
"""

from __future__ import annotations

from pyroaring import BitMap64

_LARGEST = 2**64 - 1


def _as_number(jira_id: str) -> int | None:
    """The id as the number it writes, or None when the string is not exactly that number's digits."""
    if not jira_id.isascii() or not jira_id.isdigit() or (jira_id[0] == "0" and jira_id != "0"):
        return None  # "007" must not be taken for "7"
    number = int(jira_id)
    return number if number <= _LARGEST else None


class SeenIds:
    """A set of issue id strings: `add` and `in`, nothing more."""

    def __init__(self) -> None:
        self._numbers = BitMap64()
        self._others: set[str] = set()

    def add(self, jira_id: str) -> None:
        number = _as_number(jira_id)
        if number is None:
            self._others.add(jira_id)
        else:
            self._numbers.add(number)

    def __contains__(self, jira_id: object) -> bool:
        if not isinstance(jira_id, str):
            return False
        number = _as_number(jira_id)
        return jira_id in self._others if number is None else number in self._numbers

    def __len__(self) -> int:
        return len(self._numbers) + len(self._others)
