"""``python -m coverage``: delegates to the command line, :mod:`cli.main` (outside the engine package).

This entry script is the one place the engine package names the CLI; no library module does.
From the package's import until here a Ctrl-C ends the process with one line and status 130
(``coverage/__init__.py``); the commands then get Python's KeyboardInterrupt back, so that they can
remove their temporaries and say what ``--out`` holds.
"""

import signal
import sys

from cli.errors import terminate_on_sigterm
from cli.main import main

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main())
