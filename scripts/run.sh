#!/usr/bin/env bash
# The main job: builds the node and runs a development chain (Alice authors and finalizes,
# state in a temporary directory). RPC on ws://127.0.0.1:9944. Extra flags go to the node.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
echo "[run] building bittensor-node (release; the first build takes most of an hour on 2 cores)"
build_workspace
exec "$NODE_BIN" --dev --tmp "$@"
