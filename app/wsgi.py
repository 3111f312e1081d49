"""WSGI entry point for gunicorn: `app.wsgi:application` (configuration from $COMPANION_CONFIG/env)."""

from app import create_app
from sync.heap import freeze_startup_objects
from sync.logs import configure_logging
from sync.settings import load_settings

_settings = load_settings()
configure_logging(_settings, "web")
application = create_app(_settings)
freeze_startup_objects()  # the app as built: not walked by every full collection (sync.heap)
