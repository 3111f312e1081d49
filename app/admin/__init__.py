"""Admin pages (HTML): the mapping editor."""
