#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every unit and end-to-end test.
# The end-to-end tests run the workspace's binaries and build them on first use; building
# them here first keeps that compile output out of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# setup.sh installed PostgreSQL: its tests must run here, not skip (see cadenza-pgtest).
export CADENZA_REQUIRE_POSTGRES=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
cargo test --workspace --locked
