"""The organisation's monthly report: figures of one month (`figures`), its chart as a PNG (`chart`), and the
mail to the org admins and viewers who opted in (`monthly`), sent through the notification outbox.

Where it sits (import-linter, pyproject.toml): above `policies` (it reads SLA outcomes the way the summary
does) and below `jobs`, whose hourly cron calls `monthly.due_recipients` and `monthly.compose_report`.
"""
