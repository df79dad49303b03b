#!/usr/bin/env bash
# Install into .venv (requirements-dev.txt pins ruff) and lint with the [tool.ruff] rules of
# pyproject.toml. Extra arguments go to `ruff check` (e.g. --fix).
. "$(dirname "$0")/_venv.sh" requirements-dev.txt
.venv/bin/python -m ruff check . "$@"
