#!/usr/bin/env bash
# The official anthropic and openai Python SDKs through switchyard, against
# each provider kind (tests/sdk/run_sdks.py). SDKs live in a cached venv.
set -euo pipefail
source "$(dirname "$0")/common.sh"
probe=$(find_probe_dir)
ensure_venv anthropic==2.14.0 openai==3.57.0 boto3==1.44.8
cargo build --quiet --bin switchyard
"$venv/bin/python" "$root/tests/sdk/run_sdks.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" --probe-dir "$probe"
