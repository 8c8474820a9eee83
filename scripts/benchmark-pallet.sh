#!/usr/bin/env bash
# Benchmarks the incentive pallet on the real runtime and regenerates
# pallets/incentive/src/weights.rs. Builds `bittensor-node --features runtime-benchmarks` in its
# own target directory (the feature changes most of the dependency graph, and the default
# build must not pull in frame-benchmarking-cli's polkadot and cumulus crates).
#
# Usage: scripts/benchmark-pallet.sh [--steps N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh

steps=25
repeat=5
while [ $# -gt 0 ]; do
	case "$1" in
		--steps) steps=$2; shift 2 ;;
		--repeat) repeat=$2; shift 2 ;;
		*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done

export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/benchmarks"
cargo build --release --locked -p bittensor-node --features runtime-benchmarks
"$CARGO_TARGET_DIR/release/bittensor-node" benchmark pallet \
	--chain dev \
	--pallet pallet_incentive \
	--extrinsic '*' \
	--steps "$steps" \
	--repeat "$repeat" \
	--wasm-execution compiled \
	--template scripts/weight-template.hbs \
	--output pallets/incentive/src/weights.rs
echo "wrote pallets/incentive/src/weights.rs (machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2))"
