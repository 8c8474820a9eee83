#!/usr/bin/env bash
# Runs every test: the Rust workspace's unit and integration tests, which include the
# end-to-end tests against real `bittensor-node` processes (polkadot.js transfer, restart,
# two-validator finality). Prints a closing `N passed, N failed` line.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)

echo "[test] building (release profile, shared with the node build)"
if ! build_workspace; then
	echo "[test] build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

echo "[test] running"
cargo test --release --locked --workspace --no-fail-fast 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}

echo "[test] the incentive pallet's benchmarks, run as tests on its mock runtime"
cargo test --release --locked -p pallet-incentive --features runtime-benchmarks 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi

# Runtime code never panics or overflows: the pallet and primitives deny clippy's
# arithmetic_side_effects, indexing_slicing, unwrap_used and expect_used (see their Cargo.toml).
echo "[test] clippy: no-panic lints on the pallet, the primitives and the RPC"
if cargo clippy --release --locked -p bittensor-primitives -p pallet-incentive -p bittensor-rpc --all-targets; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi
echo "[test] took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
exit "$status"
