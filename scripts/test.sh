#!/usr/bin/env bash
# Install into .venv and run the whole test suite. Extra arguments go to pytest.
# The test files are spread over one worker per core (at most 4; PYTEST_WORKERS=N to choose, 0 for
# one process): each file runs whole in one worker, which starts its own PostgreSQL, app server and
# browser when its tests need them.
. "$(dirname "$0")/_venv.sh" requirements-dev.txt
workers="${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}"
[ "$workers" -gt 4 ] && workers=4
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
else
  .venv/bin/python -m pytest "$@"
fi
