"""``python -m coverage``: delegates to the command line, :mod:`cli.main` (outside the engine package).

This entry script is the one place the engine package names the CLI; no library module does.
From the package's import until here a Ctrl-C ends the process with one line and status 130
(a SIGINT handler set in ``coverage/__init__.py``); the commands then get Python's KeyboardInterrupt back, so that they can
remove their temporaries and say what ``--out`` holds.
"""

import signal
import sys

try:
    from cli.errors import terminate_on_sigterm
    from cli.main import main
except KeyboardInterrupt:  # raised rather than signalled (the handler above exits at once): nothing written yet
    print("error: interrupted (Ctrl-C) while loading; nothing was written", file=sys.stderr)
    sys.exit(130)

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main())
