#!/usr/bin/env bash
# dicomlake's one entry point for people and CI.
#   ./dev.sh demo    set everything up, build the sample store, print the latest studies
#   ./dev.sh test    set everything up, then format check, lint, types, import contracts and the whole test suite
#   ./dev.sh setup   only install (Debian packages + a virtualenv in .venv)
#   ./dev.sh bench   run the benchmarks in bench/
set -euo pipefail
cd "$(dirname "$0")"

VENV="${DICOMLAKE_VENV:-.venv}"
PY="${PYTHON:-python3}"
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng fonts-dejavu-core dcmtk dicom3tools orthanc orthanc-dicomweb openjdk-17-jre-headless)

# Bytecode is written on first import (into .venv and the checkout's __pycache__ folders, which
# git ignores). Where PYTHONDONTWRITEBYTECODE is set, every process would compile what it imports
# again (the dicomlake command starts in 2.2 s instead of 0.65 s); uv, unlike pip, compiles
# nothing at install, and compiling all of it there costs ~30 s more than writing what is used.
unset PYTHONDONTWRITEBYTECODE

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

setup_system() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "Error: installing ${missing[*]} needs root (or sudo)" >&2; exit 1; }
        sudo="sudo"
    fi
    say "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    # Do not start the packaged Orthanc service: tests start their own servers on loopback.
    local own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$own_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
}

setup_python() {
    local extras="$1"
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "Error: dicomlake needs Python >= 3.11 (found $("$PY" --version))" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || { say "creating virtualenv $VENV"; "$PY" -m venv "$VENV"; }
    say "installing dicomlake[$extras] into $VENV"
    # uv resolves and downloads in parallel (a fresh install: ~35 s against pip's ~130 s); pip
    # remains the fallback where uv cannot be installed.
    if [ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install -q --disable-pip-version-check uv >/dev/null 2>&1; then
        "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -e ".[$extras]"
    else
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]"
    fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
    setup)
        setup_system
        setup_python test
        ;;
    demo)
        setup_system
        setup_python notebooks
        say "writing the sample store's DICOM files to sample-data/"
        "$VENV/bin/dicomlake" sample sample-data --n 120
        say "ingesting them into the lake sample-lake/, store 'sample'"
        "$VENV/bin/dicomlake" ingest sample-data --lake sample-lake --store sample --write-disposition WRITE_TRUNCATE
        say "latest studies"
        "$VENV/bin/dicomlake" query latest_studies --lake sample-lake
        ;;
    test)
        setup_system
        setup_python test
        # The static checks run beside the tests (they take a core for ~20 s, while the tests
        # leave some idle waiting on servers and processes); their output follows the tests'.
        checks_log="$(mktemp)"
        (
            set -e
            "$VENV/bin/ruff" format --check dicomlake tests bench scripts
            "$VENV/bin/ruff" check dicomlake tests bench scripts
            "$VENV/bin/mypy"
            "$VENV/bin/lint-imports"
        ) >"$checks_log" 2>&1 &
        checks=$!
        say "tests"
        # Four processes on two cores (the tests often wait on a server or a subprocess), each
        # taking whole test files (their module fixtures are built once), the longest files first
        # (tests/conftest.py); later options win, so './dev.sh test -n 0' runs them in one.
        tests=0
        "$VENV/bin/python" -m pytest -n 4 --dist loadfile "$@" || tests=$?
        checked=0
        wait "$checks" || checked=$?
        say "format check, lint, types, import contracts"
        cat "$checks_log"
        rm -f "$checks_log"
        [ "$checked" -eq 0 ] || { echo "Error: the static checks above failed" >&2; exit "$checked"; }
        exit "$tests"
        ;;
    bench)
        setup_system
        setup_python "test,bench"
        for b in bench/*.py; do say "$b"; "$VENV/bin/python" "$b" "$@"; done
        ;;
    *)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
