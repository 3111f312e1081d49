"""WSGI entry point for gunicorn: `app.wsgi:application` (configuration from $COMPANION_CONFIG/env)."""

from app import create_app

application = create_app()
