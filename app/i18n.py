"""Languages: Flask-Babel with English and Russian; `?lang=` switches and is remembered."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel, get_locale

from app.context import SESSION_ID_KEY, current_user
from sync.settings import Settings

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def init_i18n(app: Flask, settings: Settings) -> None:
    """Install Babel with a locale selector: ?lang=, then the session, the account's language, Accept-Language."""
    locales = list(settings.portal.locales)
    default = settings.portal.default_locale

    def select_locale() -> str:
        wanted = request.args.get("lang")
        if wanted in locales:
            session["lang"] = wanted
            return wanted
        if session.get("lang") in locales:
            return session["lang"]
        saved = getattr(current_user(), "locale", None) if SESSION_ID_KEY in session else None
        if saved in locales:
            return str(saved)
        return request.accept_languages.best_match(locales) or default

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_LOCALE"] = default
    Babel(app, locale_selector=select_locale)
    app.config["COMPANION_LOCALES"] = locales
    app.jinja_env.globals["get_locale"] = get_locale
