"""Flask-free use cases shared by the API, the portal and the CLI (scope, actions, summary, accounts, JSON shapes)."""
