"""gunicorn's logger with URL-borne secrets redacted from access and error lines (`--logger-class`)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from app.redaction import install_redaction, redact

# The access-log atoms that can carry a request's URL: request line, path, query, referer, raw URI.
_URL_ATOMS = ("r", "U", "q", "f", "{raw_uri}e")


class RedactingLogger(Logger):
    """gunicorn's own Logger; only what it writes about URLs is changed."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_redaction(self.error_log)
        install_redaction(self.access_log)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in _URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
