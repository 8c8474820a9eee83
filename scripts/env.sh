# Sourced by the scripts: one target directory outside the work tree, kept between runs, so
# that a second build (and CI after a session) starts warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bittensor/target}"
export NODE_BIN="$CARGO_TARGET_DIR/release/bittensor-node"
# Python virtual environment of the end-to-end tests (py-substrate-interface).
export BITTENSOR_VENV="${BITTENSOR_VENV:-$HOME/.cache/bittensor/venv}"
export BITTENSOR_CORPORA="${BITTENSOR_CORPORA:-$HOME/.cache/bittensor/corpora}"

# Builds the whole workspace (the node and neuron binaries and every test) under one feature
# resolution: building only `-p bittensor-node` would resolve features differently and
# recompile shared crates. The end-to-end tests find the binaries beside their executable.
build_workspace() {
	cargo build --release --locked --workspace --bins --tests "$@"
}
# Around a script's builds: files unchanged since the target directory's last recorded build
# get back the modification times that build saw, so that a fresh clone rebuilds only the crates
# whose files changed (scripts/source-mtimes.py says why and when it is safe); after the
# script's last cargo command, this tree's files are recorded for the next one.
reuse_unchanged_sources() {
	python3 scripts/source-mtimes.py restore && python3 scripts/source-mtimes.py snapshot
}
record_built_sources() {
	python3 scripts/source-mtimes.py record
}
# The nightly whose rustfmt formats the code (rustfmt.toml's polkadot-sdk style needs nightly
# options). Dated, so that the format check changes only when this line does.
export RUSTFMT_TOOLCHAIN=nightly-2026-05-20
