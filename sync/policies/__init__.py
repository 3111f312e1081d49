"""Automatic rules (remind, move to awaiting closure, close) and the mirror of JSM SLAs.

Sits above `outbound` in the sync layers: rules act through the outbox, exactly as a customer's action
does, so their pushes, retries and echoes follow the one path every action follows. The calendar
arithmetic itself is pure and lives in `mappings.calendar` (the calendar is part of the mapping YAML).
"""
