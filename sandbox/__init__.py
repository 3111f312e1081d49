"""The stand-in JSM: a separate Flask app speaking the servicedeskapi and Jira platform REST shapes.

Entry points: `sandbox.app.create_app()`, `sandbox.cli.main()` (`python -m sandbox`), and
`sandbox.testing.running_sandbox()` for tests. The endpoints are in `sandbox.api` (one blueprint
module per group), one site's state and payload builders in `sandbox.site.Sandbox`. Workflow,
priorities and request types are in `sandbox.catalog` (stable ids and transition names).
`sync/` must never import this package.
"""
