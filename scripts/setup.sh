#!/usr/bin/env bash
# Installs the system packages Cadenza needs on a fresh Debian machine (only what is missing).
# Build: libasound2-dev + pkg-config (rodio's ALSA backend). Tests: tmux (the player in a
# terminal), nginx and curl (the cluster).
set -euo pipefail

need=()
dpkg -s libasound2-dev >/dev/null 2>&1 || need+=(libasound2-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
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
