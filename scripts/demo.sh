#!/usr/bin/env bash
# Runs Cadenza on the embedded default: starts a server (SQLite + 3 local volumes) in a demo
# data folder, ingests the fixture catalog with cadenza-admin, and opens the player logged in.
# Quitting the player (q) stops the server. Re-running reuses the data (ingest skips what exists).
#
#   CADENZA_DEMO_DIR   where the demo keeps its data, config and cache
#                      (default: ~/.local/share/cadenza-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh
cargo build --workspace --bins --quiet
bin="$root/target/debug"

demo="${CADENZA_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/cadenza-demo}"
mkdir -p "$demo"
# The demo's logins and cache stay in its own folder, away from a real setup's.
export XDG_CONFIG_HOME="$demo/config" XDG_CACHE_HOME="$demo/cache"

password_file="$demo/admin-password"
if [ ! -s "$password_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$password_file")
fi
password=$(cat "$password_file")

log="$demo/server.log"
CADENZA_ADMIN_PASSWORD="$password" "$bin/cadenza-server" \
    --data-dir "$demo/data" --listen 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 200); do
    url=$(sed -n 's/^cadenza-server listening on //p' "$log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "demo: the server did not start; its log follows ($log)" >&2
    cat "$log" >&2
    exit 1
fi
echo "demo: server at $url (data in $demo/data, log in $log)"

echo "$password" | "$bin/cadenza-admin" login --server "$url" --username admin --password-stdin >/dev/null
export CADENZA_SERVER="$url"
# Music only: the podcast episodes in fixtures/audio/podcast are not songs.
find "$root/fixtures/audio" -mindepth 1 -maxdepth 1 -type d ! -name podcast -print0 |
    xargs -0 "$bin/cadenza-admin" ingest

token=$(sed -n 's/^token = "\(.*\)"$/\1/p' "$XDG_CONFIG_HOME/cadenza/admin.toml")
CADENZA_TOKEN="$token" "$bin/cadenza" --server "$url"
