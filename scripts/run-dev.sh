#!/usr/bin/env bash
# `make run`: the zero-config appliance on this machine. Starts the model services (cpu
# profile) in the background and the web UI in the foreground; Ctrl-C stops both.
set -euo pipefail
bin=${VENV:-.venv}/bin

echo "==> preparing data directory ${APPLIANCE_DATA_DIR:-./var} (keys, database)"
"$bin/appliance" init

echo "==> starting the model services (cpu profile: Whisper base, SmolLM2-135M on llama.cpp)"
"$bin/model-server" run --profile cpu &
models=$!
trap 'kill "$models" 2>/dev/null || true; wait "$models" 2>/dev/null || true' EXIT INT TERM

echo "==> starting the appliance (Ctrl-C to stop)"
"$bin/appliance" serve
