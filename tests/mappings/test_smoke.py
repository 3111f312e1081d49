"""Smoke test of the public API the rest of the project calls first."""

from mappings import Mapping, MappingError, load_default, load_yaml


def test_default_loads_and_resolves() -> None:
    m = load_default()
    assert isinstance(m, Mapping)
    assert load_default() is m  # cached
    r = m.resolve_status("10001", "Waiting for Customer", "indeterminate")
    assert (r.key, r.bucket, r.fell_back) == ("awaiting_customer", "open", False)
    assert m.resolve_priority(None, "Highest").key == "high"
    assert m.validate() == []


def test_round_trip_and_error() -> None:
    m = load_default()
    assert load_yaml(m.to_yaml()) == m
    assert Mapping.from_dict(m.to_dict()) == m
    try:
        load_yaml("statuses: {}\npriorities: {}\n")
    except MappingError as exc:
        assert exc.messages
    else:  # pragma: no cover
        raise AssertionError("expected MappingError")
