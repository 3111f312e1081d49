"""The `companion` command line (`main`) and the long-running processes it starts."""

from app.cli.commands import main

__all__ = ["main"]
