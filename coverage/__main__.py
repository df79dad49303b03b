"""``python -m coverage``: delegates to the command line, :mod:`cli.main` (outside the engine package).

This entry script is the one place the engine package names the CLI; no library module does.
Loading the libraries takes seconds: a Ctrl-C then is one line and status 130 too, never a traceback.
"""

import sys

try:
    from cli.errors import terminate_on_sigterm
    from cli.main import main
except KeyboardInterrupt:  # nothing was read or written yet
    print("error: interrupted (Ctrl-C) while loading; nothing was written", file=sys.stderr)
    sys.exit(130)

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
sys.exit(main())
