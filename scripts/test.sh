#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every unit and end-to-end test.
# One `cargo test --workspace` builds every binary once before the end-to-end tests run them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
