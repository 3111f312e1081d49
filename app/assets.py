"""Static files and page compression: fingerprinted static URLs cached for a year, gzip/brotli for pages.

`url_for("static", filename=...)` gains `?v=<content hash>`: a changed file gets a new URL, so browsers may
keep the old one for a year without ever showing a stale script or stylesheet after an upgrade.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_compress import Compress

YEAR = 365 * 24 * 3600
# Text answers worth compressing; images, downloads and CSV streams are left alone.
COMPRESSED_TYPES = ["text/html", "text/css", "application/javascript", "text/javascript", "application/json",
                    "image/svg+xml"]


def fingerprints(folder: Path) -> dict[str, str]:
    """A short content hash per file under `folder`, by the name `url_for` is given (forward slashes)."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in sorted(folder.rglob("*")) if path.is_file()}


def init_assets(app: Flask) -> None:
    """Fingerprint the static files once at start, cache them long, and compress text responses."""
    hashes = fingerprints(Path(app.static_folder or "static"))

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename") in hashes:
            values["v"] = hashes[values["filename"]]

    @app.after_request
    def _static_cache(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            name = (request.view_args or {}).get("filename")
            if request.args.get("v") and request.args.get("v") == hashes.get(name):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:  # an unversioned or outdated URL: revalidate, so it never serves a stale copy for long
                response.headers["Cache-Control"] = "no-cache"
        return response

    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    # Streamed answers (CSV exports, downloads) stay streamed.
    app.config.setdefault("COMPRESS_STREAMS", False)
    Compress(app)
