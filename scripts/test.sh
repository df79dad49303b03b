#!/usr/bin/env bash
# Install into .venv and run the whole test suite. Extra arguments go to pytest.
. "$(dirname "$0")/_venv.sh" requirements-dev.txt
.venv/bin/python -m pytest "$@"
