#!/usr/bin/env bash
# The dashboard end to end in a real headless Chromium (Debian's chromium and
# chromium-driver, installed when missing). Screenshots and the exported CSV
# land in $CARGO_TARGET_DIR/ui-artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchyard/target}"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "ui-tests: installing chromium and chromium-driver from Debian"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium chromium-driver >/dev/null
fi
cargo build --quiet
artifacts="$CARGO_TARGET_DIR/ui-artifacts"
rm -rf "$artifacts"
python3 tests/ui/run_ui.py "$CARGO_TARGET_DIR/debug/switchyard" "$artifacts"
