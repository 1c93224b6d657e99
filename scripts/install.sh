#!/bin/sh
# The one install recipe for a vaeguard runtime, used by the Dockerfile and exercised by CI in a
# fresh virtual environment, so the image's install steps are tested even where Docker is not.
#   sh scripts/install.sh [SOURCE]     SOURCE: a checkout folder (default .)
# TORCH_INDEX_URL, when set, is where the CPU build of torch comes from (the Dockerfile points it at
# PyTorch's CPU wheel index; without it pip takes torch from the configured index).
set -eu
SRC="${1:-.}"
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch==2.13.0
else
    pip install --no-cache-dir torch==2.13.0
fi
pip install --no-cache-dir "$SRC"
vaeguard --version
