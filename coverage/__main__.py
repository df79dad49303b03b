"""``python -m coverage``: see :mod:`coverage.cli`."""

import sys

from coverage.cli import main
from coverage.cli_errors import terminate_on_sigterm

terminate_on_sigterm()  # SIGTERM removes temporaries on the way out, like Ctrl-C
sys.exit(main())
