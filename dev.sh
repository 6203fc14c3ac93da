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
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]"
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
        say "format check, lint, types, import contracts"
        "$VENV/bin/ruff" format --check dicomlake tests bench scripts
        "$VENV/bin/ruff" check dicomlake tests bench scripts
        "$VENV/bin/mypy"
        "$VENV/bin/lint-imports"
        say "tests"
        # Two processes, each taking whole test files (their module fixtures are built once);
        # later options win, so './dev.sh test -n 0' runs them in one.
        "$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@"
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
