"""``python -m coverage``: delegates to the command line, :mod:`cli.main` (outside the engine package).

This entry script is the one place the engine package names the CLI; no library module does.
"""

import sys

from cli.errors import terminate_on_sigterm
from cli.main import main

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
sys.exit(main())
