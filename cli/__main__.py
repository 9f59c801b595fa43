"""`python -m cli ...` is the `qa` command."""

import sys

from cli.main import main

sys.exit(main())
