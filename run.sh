#!/usr/bin/env bash
# One entry point for people and CI:
#   bash run.sh serve [explorer serve options]   set up (first time) and serve the dashboards
#   bash run.sh test  [pytest options]           set up (first time) and run lint + tests
# The environment lives in .venv (override with VENV=...); it is rebuilt when
# pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

setup() {
    local stamp="$VENV/.explorer-stamp" want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    local base
    base="$(command -v python3.11 || command -v python3)"
    [ -x "$PY" ] || "$base" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    # The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
    "$PY" -m pip install -q "torch==2.13.0" \
        || "$PY" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
    "$PY" -m pip install -q -e ".[dev]"
    echo "$want" > "$stamp"
}

browser() {
    # Browser tests drive Debian's Chromium; they skip (not fail) when it is absent.
    command -v chromium >/dev/null 2>&1 && return
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
            || echo "run.sh: could not install chromium; browser tests will skip" >&2
    fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
    serve)
        setup
        exec "$VENV/bin/explorer" serve "$@"
        ;;
    test)
        setup
        browser
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/lint-imports"
        exec "$VENV/bin/pytest" "$@"
        ;;
    *)
        echo "usage: bash run.sh serve|test [options]" >&2
        exit 2
        ;;
esac
