#!/usr/bin/env bash
# Install into .venv and run the main job on the embedded default data (real Helsinki streets).
# Extra arguments go to `python -m coverage circles`.
. "$(dirname "$0")/_venv.sh" requirements.txt
.venv/bin/python -m coverage circles --out out/circles.gpkg "$@"
