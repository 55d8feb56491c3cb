#!/usr/bin/env bash
# Installs the system packages Cadenza needs on a fresh Debian machine (only what is missing).
# Build: libasound2-dev + pkg-config (rodio's ALSA backend).
set -euo pipefail

need=()
dpkg -s libasound2-dev >/dev/null 2>&1 || need+=(libasound2-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v tmux >/dev/null 2>&1 || need+=(tmux)

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Subsonic client test (tests/tests/subsonic_client.rs) drives the server with py-sonic
# from PyPI and checks answers with jsonschema, both in a venv under target/. Only where
# Python exists: without it that test says it is skipped.
if command -v python3 >/dev/null 2>&1; then
    cd "$(dirname "$0")/.."
    pyenv=target/pyenv
    if ! "$pyenv/bin/python" -c "import libsonic, jsonschema" >/dev/null 2>&1; then
        echo "setup: installing py-sonic and jsonschema in $pyenv" >&2
        if ! python3 -m venv "$pyenv" >/dev/null 2>&1; then
            # Debian splits venv support out of python3.
            sudo=""
            [ "$(id -u)" -eq 0 ] || sudo="sudo"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
            rm -rf "$pyenv"
            python3 -m venv "$pyenv"
        fi
        "$pyenv/bin/pip" install -q --disable-pip-version-check "py-sonic==1.2.0" "jsonschema>=4.18,<5"
    fi
fi
