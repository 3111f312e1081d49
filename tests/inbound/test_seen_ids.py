"""`SeenIds` answers exactly as a set of the id strings would, whatever Jira sends as an id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.inbound.seen_ids import SeenIds

# Jira's ids are decimal numbers; the rest checks that no other string is taken for one of them.
ids = st.one_of(st.integers(min_value=0, max_value=2**70).map(str),
                st.from_regex(r"\A0[0-9]{1,4}\Z"),  # leading zeros: "007" is not "7"
                st.sampled_from(["", "-1", "+1", " 1", "1 ", "1.0", "١٢", "²", "10001"]),
                st.text(max_size=6))


@given(st.lists(ids, max_size=60), st.lists(ids, max_size=60))
def test_membership_is_that_of_a_set_of_the_strings(added: list[str], asked: list[str]) -> None:
    seen, plain = SeenIds(), set()
    for jira_id in added:
        seen.add(jira_id)
        plain.add(jira_id)
    for jira_id in added + asked:
        assert (jira_id in seen) == (jira_id in plain), jira_id
    assert len(seen) == len(plain)


def test_a_table_of_look_alikes() -> None:
    seen = SeenIds()
    for jira_id in ("7", "10001", str(2**64 - 1), str(2**64), "SUP-1"):
        seen.add(jira_id)
    assert "7" in seen and "007" not in seen and "07" not in seen
    assert "10001" in seen and "1000" not in seen and "10001 " not in seen
    assert str(2**64 - 1) in seen and str(2**64) in seen and str(2**64 + 1) not in seen
    assert "SUP-1" in seen and "sup-1" not in seen
    assert 7 not in seen  # only strings are ids
