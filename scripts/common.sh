# Shared by the CI scripts (source it): where things are cached and found.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
venv="$cache/py"

# The shared Claude Code probe (../shared from the project root).
find_probe_dir() {
  local candidate
  for candidate in "${SWITCHYARD_PROBE_DIR:-}" "$root/../shared/probes/claude-code" /work/shared/probes/claude-code; do
    if [ -n "$candidate" ] && [ -x "$candidate/run_probe.sh" ]; then
      echo "$candidate"
      return 0
    fi
  done
  echo "the Claude Code probe (../shared/probes/claude-code) was not found" >&2
  return 1
}

# A Python venv under the cache, with the given pinned packages.
ensure_venv() {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' "$@" 2>/dev/null; then
    "$venv/bin/pip" install -q "$@"
  fi
}

# The pinned Claude Code ($CLAUDE_CODE_VERSION, default 2.1.332) under
# $CLAUDE_CODE_PREFIX, installed by the probe when missing; sets $claude.
ensure_claude_code() {
  local probe="$1" version="${CLAUDE_CODE_VERSION:-2.1.332}"
  export CLAUDE_CODE_PREFIX="${CLAUDE_CODE_PREFIX:-$HOME/.cache/claude-code-probe}"
  claude="$CLAUDE_CODE_PREFIX/node_modules/.bin/claude"
  if [ ! -x "$claude" ] || ! "$claude" --version 2>/dev/null | grep -q "^$version "; then
    echo "installing Claude Code $version into $CLAUDE_CODE_PREFIX"
    "$probe/run_probe.sh" --install "$version"
  fi
}
