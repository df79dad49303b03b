#!/usr/bin/env bash
# A long run of the engine's property-based tests (tests/test_fuzz_engine.py), beyond CI's few.
# Usage: bash scripts/fuzz.sh [EXAMPLES] [extra pytest arguments]   (default 1000 examples per property)
# Set FUZZ_RANDOM=1 to draw new examples every run instead of CI's fixed (derandomized) ones.
. "$(dirname "$0")/_venv.sh" requirements-dev.txt
export FUZZ_EXAMPLES="${1:-1000}"
shift || true
.venv/bin/python -m pytest -p no:randomly -q tests/test_fuzz_engine.py "$@"
