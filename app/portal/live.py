"""The answer of the pages' live-update polls: the page's version as an ETag, 304 while it is unchanged."""

from __future__ import annotations

from flask import Response, jsonify, request


def version_answer(version: str) -> Response:
    """`{"version": ...}` with its ETag, or 304 when the poller already has this version; never cached."""
    if request.if_none_match.contains(version):
        return Response(status=304, headers={"ETag": f'"{version}"', "Cache-Control": "no-cache"})
    response = jsonify(version=version)
    response.set_etag(version)
    response.headers["Cache-Control"] = "no-cache"
    return response
