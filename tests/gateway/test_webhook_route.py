"""`route` (what the webhook receiver reads of a body) refuses exactly the bodies `normalise` refuses, with the
same reason, and names the kind, issue and project the receiver read off `normalise`'s event before."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.jsm.events import COMMENT_EVENTS, ISSUE_EVENTS, CommentEvent, IssueEvent, NotAWebhook, normalise, route

# Values a field of a delivery may hold: mostly what Jira sends, else junk of any JSON type, so that bodies
# reach every check (each branch is counted by the second test).
BAD_TIMES = st.one_of(st.just(""), st.sampled_from(["2026-02-30T00:00:00", "9999-12-31T23:59-12:00", "yesterday"]),
                      st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.booleans(),
                      st.lists(st.integers(), max_size=1))
TIMES = st.one_of(st.sampled_from(["2026-01-01T00:00:00.000+0000", "2026-01-01", 1_767_225_600_000, None]), BAD_TIMES)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.sampled_from(["", "SUP-1",
                                                                                                   "SUP", "10001"]))


def usually(good: Any, bad: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    """`good` (a value or a strategy) three times in four, else `bad`."""
    good = good if isinstance(good, st.SearchStrategy) else st.just(good)
    # Not one_of(good, good, good, bad): it flattens the branches of a nested one_of, drowning the good one.
    return st.sampled_from([good, good, good, bad]).flatmap(lambda chosen: chosen)


def maybe(values: dict[str, Any], **required: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the `required` keys and any subset of the others."""
    return st.fixed_dictionaries(required, optional=values)


FIELDS = maybe({"project": usually(maybe({"key": usually("SUP")})), "created": TIMES, "updated": TIMES,
                "resolutiondate": TIMES, "summary": SCALARS, "status": usually(maybe({"id": SCALARS})),
                "reporter": usually(maybe({"accountId": SCALARS})),
                "customfield_10010": usually(st.lists(maybe({"id": SCALARS, "name": SCALARS, "_links": SCALARS}),
                                                      max_size=2))})
ISSUE = usually(maybe({"fields": usually(FIELDS)}, id=usually(st.sampled_from(["10001", 10001])),
                      key=usually(st.sampled_from(["SUP-1", "OPS-7"]))),
                st.one_of(SCALARS, maybe({"id": SCALARS, "key": SCALARS, "fields": FIELDS})))
COMMENT = usually(maybe({"created": TIMES, "updated": TIMES, "body": SCALARS, "jsdPublic": SCALARS,
                         "self": usually(st.sampled_from(["https://x.atlassian.net/rest/api/2/issue/10001/comment/5",
                                                          "https://x/rest/api/2/issue//comment/5"]))},
                        id=usually("5")))
KINDS = usually(st.sampled_from([*ISSUE_EVENTS, *COMMENT_EVENTS, "worklog_created"]), st.one_of(st.just(""), SCALARS))
BODIES = usually(maybe({"timestamp": usually(1_767_225_600_000, st.one_of(TIMES, st.just(253_402_300_800_000))),
                        "issue": ISSUE, "comment": COMMENT, "user": usually(maybe({"name": SCALARS})),
                        "changelog": usually(maybe({"id": SCALARS, "items": st.lists(
                            maybe({"field": st.just("status"), "from": SCALARS}), max_size=2)}))},
                       webhookEvent=KINDS),
                 st.one_of(SCALARS, st.lists(SCALARS, max_size=2), maybe({"webhookEvent": KINDS})))


def outcome(read: Any, body: Any) -> tuple[str, Any]:
    try:
        return "read", read(body)
    except NotAWebhook as exc:
        return "refused", str(exc)


def as_before(body: Any) -> tuple[str, bool, str | None, str | None]:
    """What the receiver took from `normalise` before `route` existed."""
    event = normalise(body)
    if isinstance(event, IssueEvent):
        return event.kind, True, event.issue.key, event.issue.project_key
    if isinstance(event, CommentEvent):
        return event.kind, True, event.issue_key, event.project_key
    return event.kind, False, None, None


@settings(max_examples=1500, deadline=None)
@given(body=BODIES)
def test_route_refuses_what_normalise_refuses_and_reads_what_the_receiver_read(body: Any) -> None:
    expected = outcome(as_before, body)
    got = outcome(route, body)
    assert got == (expected[0], tuple(expected[1]) if expected[0] == "read" else expected[1])


def test_the_generated_bodies_reach_every_branch() -> None:
    """The property above is only as good as its bodies: each refusal and each kind of event occurs."""
    seen: set[str] = set()

    @settings(max_examples=1500, deadline=None)
    @given(body=BODIES)
    def collect(body: Any) -> None:
        kind, result = outcome(route, body)
        seen.add(result.split(":")[0].split(" (")[0] if kind == "refused" else f"read {result[1]}")

    collect()
    assert {"read True", "read False", "the body must be a JSON object", "no `webhookEvent`",
            "`timestamp` must be epoch milliseconds", "`timestamp` out of range", "`issue` must be an object",
            "`issue` must have `id` and `key`", "`comment` must be an object with an `id`",
            "comment event without `issue` and without an issue id in `comment.self`"} <= seen, seen
    assert any(reason.startswith(("not a timestamp", "expected a timestamp", "epoch milliseconds out of range"))
               for reason in seen), seen
