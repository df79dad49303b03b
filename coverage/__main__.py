"""``python -m coverage``: see :mod:`coverage.cli`."""

import sys

try:  # importing geopandas, numba, ... takes seconds: a Ctrl-C then is one line too, never a traceback
    from coverage.cli import main
    from coverage.cli_errors import EXIT_INTERRUPTED, terminate_on_sigterm
except KeyboardInterrupt:
    print("error: interrupted (Ctrl-C) while starting; nothing was written", file=sys.stderr)
    sys.exit(130)

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
try:
    status = main()
except KeyboardInterrupt:  # between parsing and the command's own handler
    print("error: interrupted (Ctrl-C); nothing was written", file=sys.stderr)
    status = EXIT_INTERRUPTED
sys.exit(status)
