#!/usr/bin/env bash
# A development chain alone, for scripting it: builds the node and runs it with Alice authoring
# and finalizing, state in a temporary directory, RPC on ws://127.0.0.1:9944. Extra flags go to
# the node.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
echo "[dev-node] building bittensor-node (release; the first build takes most of an hour on 2 cores)"
reuse_unchanged_sources
build_workspace
record_built_sources
exec "$NODE_BIN" --dev --tmp "$@"
