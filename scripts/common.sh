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
