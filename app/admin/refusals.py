"""A refused administrative change in the reader's language (the service keeps the English template)."""

from __future__ import annotations

from flask_babel import gettext

from app.services.admin_input import AdminError


def reason(exc: AdminError) -> str:
    """The refusal's message, translated, with its values filled in."""
    return gettext(exc.template, **exc.params)
