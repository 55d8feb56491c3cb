#!/usr/bin/env bash
# Installs the system packages Cadenza needs on a fresh Debian machine (only what is missing).
# Build: libasound2-dev + pkg-config (rodio's ALSA backend). Tests: tmux (the player), and
# PostgreSQL 15 (the catalog's second backend; its tests start throwaway clusters with the
# binaries in /usr/lib/postgresql/*/bin, and `unaccent`/`pg_trgm` come in the same package).
set -euo pipefail

need=()
dpkg -s libasound2-dev >/dev/null 2>&1 || need+=(libasound2-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
