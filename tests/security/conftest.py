"""The security tests reuse the outbox tests' install wired to the stand-in JSM over HTTP."""

from tests.outbound.conftest import env, make_env  # noqa: F401
