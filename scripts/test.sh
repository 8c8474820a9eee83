#!/usr/bin/env bash
# Runs every test, in phases: setup, build, format, tests (every crate's unit and property
# tests and the end-to-end scenarios of `tests/`, side by side under cargo-nextest; then the
# incentive pallet's benchmarks as tests), lint (clippy on every crate, warnings denied),
# try-runtime (the runtime type-checked with its try-runtime feature).
# Prints each phase's time and the total, and ends with a line `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

started=$(date +%s)
summary=()   # one "phase seconds" line per phase, printed at the end
passed=0
failed=0

# Runs a phase's command, records its time, and says whether it succeeded.
phase() {
	local name=$1
	shift
	local phase_started=$(date +%s)
	echo "[test] ${name}"
	"$@"
	local status=$?
	summary+=("$(printf '%-12s %5d s' "$name" $(( $(date +%s) - phase_started )))")
	return $status
}

# Adds the counts of a nextest JUnit report to the totals and its test groups to the summary.
count_junit() {
	local line
	while IFS= read -r line; do
		case $line in
		counts\ *)
			read -r _ p f <<<"$line"
			passed=$((passed + p))
			failed=$((failed + f))
			;;
		group\ *) summary+=("  ${line#group }") ;;
		*) echo "$line" ;;
		esac
	done < <(python3 scripts/junit-phases.py "$1" || echo "counts 0 1")
}

finish() {
	record_built_sources
	echo "[test] phases (seconds of wall time; the test groups run side by side):"
	printf '  %s\n' "${summary[@]}"
	echo "[test] took $(( $(date +%s) - started )) s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}

if ! phase setup scripts/setup.sh; then
	failed=$((failed + 1))
	finish
fi

# One feature resolution for the node, the neuron and every test (building `-p bittensor-node`
# alone would resolve features differently and recompile shared crates); the pallet's
# benchmarks build with their feature on, apart.
build() {
	reuse_unchanged_sources &&
		build_workspace &&
		cargo test --release --locked -p pallet-incentive --features runtime-benchmarks --no-run
}
if ! phase build build; then
	echo "[test] build failed"
	failed=$((failed + 1))
	finish
fi

if phase format cargo "+$RUSTFMT_TOOLCHAIN" fmt --all --check; then
	passed=$((passed + 1))
else
	echo "[test] not formatted: run \`cargo +$RUSTFMT_TOOLCHAIN fmt --all\`"
	failed=$((failed + 1))
fi

nextest_dir=target/nextest # nextest keeps its store under the workspace root
rm -f "$nextest_dir"/default/junit.xml "$nextest_dir"/benchmarks/junit.xml
phase tests cargo nextest run --release --locked --workspace
count_junit "$nextest_dir/default/junit.xml"
phase benchmarks cargo nextest run --release --locked -p pallet-incentive \
	--features runtime-benchmarks --profile benchmarks
count_junit "$nextest_dir/benchmarks/junit.xml"

# Every crate, warnings denied; the runtime crates (pallet, primitives, rpc) also deny the
# no-panic lints arithmetic_side_effects, indexing_slicing, unwrap_used and expect_used (in
# their crate roots; the shared lints are the workspace's `[workspace.lints]`).
if phase lint cargo clippy --release --locked --workspace --all-targets -- -D warnings; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
# The runtime with `try-runtime` (the pallet's try_state, the migrations' pre- and post_upgrade
# checks) type-checked, so that code behind the feature cannot rot; native only, no wasm.
if phase try-runtime env SKIP_WASM_BUILD=1 \
	cargo check --release --locked -p bittensor-runtime --features try-runtime; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
finish
