# Sourced by the scripts: one target directory outside the work tree, kept between runs, so
# that a second build (and CI after a session) starts warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bittensor/target}"
export NODE_BIN="$CARGO_TARGET_DIR/release/bittensor-node"
# Python virtual environment of the end-to-end tests (py-substrate-interface).
export BITTENSOR_VENV="${BITTENSOR_VENV:-$HOME/.cache/bittensor/venv}"

# Builds the whole workspace (the node and neuron binaries and every test) under one feature
# resolution: building only `-p bittensor-node` would resolve features differently and
# recompile shared crates. The end-to-end tests find the binaries beside their executable.
build_workspace() {
	cargo build --release --locked --workspace --bins --tests "$@"
}
# The nightly whose rustfmt formats the code (rustfmt.toml's polkadot-sdk style needs nightly
# options). Dated, so that the format check changes only when this line does.
export RUSTFMT_TOOLCHAIN=nightly-2026-05-20
