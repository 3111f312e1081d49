"""`python -m app` is the `companion` command."""

import sys

from app.cli import main

sys.exit(main())
