"""Store → people: e-mail notifications (see the package docstring written below)."""
