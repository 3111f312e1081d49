"""The OpenAPI document describes every /api/v1 route the app serves, and is a valid OpenAPI 3.1 shape."""

from __future__ import annotations

import re


def test_every_api_route_is_documented(app, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if "{action}" in path:  # /tickets/<key>/<any(resolve, cancel, reopen):action>
                served |= {(path.replace("{action}", a), method) for a in ("resolve", "cancel", "reopen")}
            else:
                served.add((path, method))
    assert served - documented == set(), "routes missing from openapi.json"
    assert documented - served == set(), "documented routes the app does not serve"
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', response.get_data(as_text=True)))
    assert refs <= set(document["components"]["schemas"])
