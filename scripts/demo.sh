#!/usr/bin/env bash
# Install into .venv, run the main job on the embedded default data (real OSM streets and buildings
# of central Nanjing with DEMO sites: prints the summary, writes out/circles.gpkg), then start the map
# app on http://localhost:8501. `--no-app` stops after the job; other arguments go to
# `python -m coverage circles` (e.g. `--embedded helsinki` for the Helsinki demo data).
. "$(dirname "$0")/_venv.sh" requirements.txt
start_app=1
args=()
for arg in "$@"; do
  if [ "$arg" = "--no-app" ]; then start_app=0; else args+=("$arg"); fi
done
.venv/bin/python -m coverage circles --out out/circles.gpkg "${args[@]+"${args[@]}"}"
if [ "$start_app" = 1 ]; then
  echo "The map app will be on http://localhost:8501"
  exec .venv/bin/python -m ui.launch  # Streamlit, with the page's libraries imported before it opens
fi
