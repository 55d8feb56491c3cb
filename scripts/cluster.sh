#!/usr/bin/env bash
# Cadenza as a cluster on this machine: three SeaweedFS servers (one per failure domain)
# holding every blob three times, three cadenza-server copies sharing them and one catalog,
# behind nginx as load balancer and CDN cache. One URL for everything.
#
#   scripts/cluster.sh up        start what is not running (installs nginx and SeaweedFS if
#                                missing, builds the binaries, ingests the fixture catalog
#                                once), print the URL
#   scripts/cluster.sh status    every part, up or down, and which server answers
#   scripts/cluster.sh down      stop everything this cluster started; the data stays
#   scripts/cluster.sh part NAME stop|kill|start
#                                one part (weed1..weed3, web1..web3 or edge): stop (SIGTERM),
#                                kill (SIGKILL) or start it again, for trying out failures
#   scripts/cluster.sh wipe      down, then delete the cluster's folder
#
# Settings (environment):
#   CLUSTER_CATALOG=sqlite the catalog the servers share: sqlite (one file in data/, WAL,
#                          for copies on one host; the default); postgres is not in this
#                          build yet
#   CLUSTER_DIR=DIR        where the cluster keeps its state (default target/cluster)
#   CLUSTER_PORT=N         the edge's port (default 4530, or the next free one; 0 = any)
#   CLUSTER_BALANCE=least_conn   instead of round robin
#   CLUSTER_CDN=0          no CDN mode: streams go through the load balancer to a server
#   CLUSTER_LIMIT_RATE=RATE  nginx limit_rate per client connection (e.g. 2m), to make
#                          listeners slow enough to watch a failure mid-stream
#   CLUSTER_FIXTURES=0     do not ingest the fixture catalog
#   CLUSTER_BIN_DIR=DIR    use the binaries in DIR instead of building them (tests do)
#
# Layout of CLUSTER_DIR: weedN/ (a SeaweedFS server: data/, its ports and endpoint, log, pid),
# data/ (catalog.sqlite, staging/, shared by the servers), webN/ (log, pid), nginx/
# (nginx.conf, edge.log, cache/, pid), secrets.env (mode 0600), ports, url.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

state=${CLUSTER_DIR:-$root/target/cluster}
servers=(web1 web2 web3)
# One SeaweedFS server per failure domain; each is one volume of every server, R=3.
weeds=(weed1 weed2 weed3)
bucket=cadenza
log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The servers read CADENZA_* settings: only the ones given here may reach them
# (CADENZA_WEED says which weed binary cadenza-seaweed runs).
for var in $(compgen -e); do
    case $var in CADENZA_WEED) ;; CADENZA_*) unset "$var" ;; esac
done

# ---------------------------------------------------------------- helpers
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port FROM: FROM or the next free port after it; 0 picks one at random.
# Random ports come from below the kernel's ephemeral range, which outgoing connections take
# from: one picked there could be gone before its server binds it.
free_port() {
    local port=$1 taken=" ${2:-} "
    [ "$port" = 0 ] && port=$((10000 + RANDOM % 20000))
    while ! port_free "$port" || [[ "$taken" == *" $port "* ]]; do port=$((port + 1)); done
    echo "$port"
}
port_of() { sed -n "s/^$1=//p" "$state/ports"; }
url_of() { echo "http://127.0.0.1:$(port_of "$1")"; }

# wait_all WHAT: waits for every background job; dies when one failed.
wait_all() {
    local job failed=0
    for job in $(jobs -p); do wait "$job" || failed=1; done
    [ "$failed" = 0 ] || die "$1 did not all start"
}

# wait_http URL SECONDS PIDFILE: until URL answers 2xx, or the process is gone.
wait_http() {
    local deadline=$(($(date +%s) + $2))
    until curl -sf -o /dev/null "$1"; do
        alive "$3" || return 1
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# stop_pid PIDFILE SIGNAL: signal, then wait up to 15 s (SIGKILL after that).
stop_pid() {
    local file=$1 signal=$2 pid
    alive "$file" || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$file"
}

# nginx, curl and SeaweedFS's weed (into target/pyenv), each only when missing.
install_missing() { scripts/setup.sh; }

binaries() {
    if [ -n "${CLUSTER_BIN_DIR:-}" ]; then
        bin=$CLUSTER_BIN_DIR
    else
        log "building the binaries (cargo build)"
        cargo build --quiet --bins -p cadenza-server -p cadenza-admin -p cadenza -p cadenza-seaweed
        bin=$root/target/debug
    fi
    for b in cadenza-server cadenza-admin cadenza-seaweed; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing; build it with: cargo build --bins"
    done
}

nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }

# ---------------------------------------------------------------- the parts
first_setup() {
    [ -d "$state/data/volumes" ] && die "$state is a cluster from before its blobs moved to SeaweedFS \
(data/volumes/); run 'scripts/cluster.sh wipe' and 'up' again"
    mkdir -p "$state"/{data,nginx/tmp,nginx/cache,config}
    for s in "${servers[@]}" "${weeds[@]}"; do mkdir -p "$state/$s"; done
    if [ ! -s "$state/secrets.env" ]; then
        key() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
        (
            umask 077
            {
                echo "CADENZA_SECRET=$(key)"
                echo "CADENZA_CDN_SECRET=$(key)"
                echo "CADENZA_ADMIN_PASSWORD=$(key)"
            } >"$state/secrets.env"
        )
    fi
}

# The edge's and servers' ports, chosen once (after the SeaweedFS servers took theirs).
choose_ports() {
    if [ ! -s "$state/ports" ]; then
        local edge taken
        edge=$(free_port "${CLUSTER_PORT:-4530}")
        taken=$edge
        {
            echo "edge=$edge"
            for s in "${servers[@]}"; do
                p=$(free_port "$((edge + 1))" "$taken")
                taken="$taken $p"
                echo "$s=$p"
            done
        } >"$state/ports"
    fi
}

secret() { sed -n "s/^$1=//p" "$state/secrets.env"; }

# start_weed NAME: a SeaweedFS server kept in $state/NAME (cadenza-seaweed picks its ports
# once and execs weed, so the pid is weed's).
start_weed() {
    local name=$1 dir=$state/$1
    alive "$dir/pid" && return 0
    rm -f "$dir/endpoint"
    setsid "$bin/cadenza-seaweed" serve "$dir" "$bucket" </dev/null >>"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        [ -s "$dir/endpoint" ] || ! alive "$dir/pid" && break
        sleep 0.1
    done
    [ -s "$dir/endpoint" ] && wait_http "$(cat "$dir/endpoint")/$bucket?list-type=2&max-keys=1" 60 "$dir/pid" ||
        { tail -n 20 "$dir/log" >&2; die "$name (SeaweedFS) did not become ready; its log is $dir/log"; }
    log "$name (SeaweedFS) ready at $(cat "$dir/endpoint") (pid $(cat "$dir/pid"))"
}

# The servers' flags for the catalog they share. PostgreSQL (a primary and a streaming
# replica started here, passed as --catalog/--catalog-replica) slots in here once the server
# has that backend.
catalog_flags() {
    case ${CLUSTER_CATALOG:-sqlite} in
        sqlite) ;; # data/catalog.sqlite, in the data dir every copy shares
        postgres) die "CLUSTER_CATALOG=postgres: this build's cadenza-server has no PostgreSQL catalog yet; use sqlite" ;;
        *) die "CLUSTER_CATALOG must be sqlite or postgres, not ${CLUSTER_CATALOG}" ;;
    esac
}

# The servers' flags for their volumes: one on each SeaweedFS server, every blob on all three.
volume_flags() {
    local w
    echo --replication
    echo "${#weeds[@]}"
    for w in "${weeds[@]}"; do
        echo --volume
        echo "$w=s3://$bucket/blobs?endpoint=$(cat "$state/$w/endpoint")&anonymous=true"
    done
}

start_server() {
    local name=$1
    alive "$state/$name/pid" && return 0
    port_free "$(port_of "$name")" || die "port $(port_of "$name") for $name is taken by another program; \
run 'scripts/cluster.sh wipe' to choose new ports"
    local env=(CADENZA_SECRET="$(secret CADENZA_SECRET)" CADENZA_ADMIN_PASSWORD="$(secret CADENZA_ADMIN_PASSWORD)")
    [ "${CLUSTER_CDN:-1}" = 1 ] && env+=(CADENZA_CDN_SECRET="$(secret CADENZA_CDN_SECRET)")
    local flags
    mapfile -t flags < <(catalog_flags; volume_flags)
    env "${env[@]}" setsid "$bin/cadenza-server" \
        --data-dir "$state/data" \
        "${flags[@]}" \
        --listen "127.0.0.1:$(port_of "$name")" \
        --instance "$name" \
        --public-url "$(url_of edge)" \
        --edge-log "$state/nginx/edge.log" \
        --shutdown-grace 5s \
        </dev/null >>"$state/$name/log" 2>&1 &
    echo $! >"$state/$name/pid"
    wait_http "$(url_of "$name")/readyz" 60 "$state/$name/pid" ||
        { tail -n 20 "$state/$name/log" >&2; die "$name did not become ready; its log is $state/$name/log"; }
    log "$name ready at $(url_of "$name") (pid $(cat "$state/$name/pid"))"
}

write_nginx_conf() {
    local upstreams="" s user_line="" balance="" limit=""
    for s in "${servers[@]}"; do
        upstreams+="        server 127.0.0.1:$(port_of "$s") max_fails=1 fail_timeout=5s;"$'\n'
    done
    # As root, nginx's workers would drop to nobody, who cannot read the state folder.
    [ "$(id -u)" = 0 ] && user_line="user root root;"
    case ${CLUSTER_BALANCE:-round_robin} in
        least_conn) balance="least_conn;" ;;
        round_robin) balance="# round robin (the default)" ;;
        *) die "CLUSTER_BALANCE must be round_robin or least_conn, not ${CLUSTER_BALANCE}" ;;
    esac
    [ -n "${CLUSTER_LIMIT_RATE:-}" ] && limit="limit_rate ${CLUSTER_LIMIT_RATE};"
    cp deploy/proxy_headers.conf "$state/nginx/proxy_headers.conf"
    # awk, not sed: the upstream list spans lines.
    awk -v state="$state" -v port="$(port_of edge)" -v user="$user_line" -v balance="$balance" \
        -v upstreams="${upstreams%$'\n'}" -v secret="$(secret CADENZA_CDN_SECRET)" \
        -v limit="$limit" -v cache_max="${CLUSTER_CACHE_MAX:-2g}" '
        { gsub(/@STATE@/, state); gsub(/@PORT@/, port); gsub(/@USER_LINE@/, user)
          gsub(/@BALANCE@/, balance); gsub(/@CDN_SECRET@/, secret); gsub(/@LIMIT_RATE@/, limit)
          gsub(/@CACHE_MAX@/, cache_max)
          if ($0 ~ /@UPSTREAMS@/) { print upstreams; next }
          print }' deploy/nginx.conf.in >"$state/nginx/nginx.conf"
}

start_edge() {
    alive "$state/nginx/pid" && return 0
    write_nginx_conf
    "$(nginx_bin)" -t -q -c "$state/nginx/nginx.conf" -p "$state/nginx" 2>"$state/nginx/stderr" ||
        { cat "$state/nginx/stderr" >&2; die "nginx refused the generated $state/nginx/nginx.conf"; }
    # Every output to a file: whoever ran this script may wait for its output to end.
    setsid "$(nginx_bin)" -c "$state/nginx/nginx.conf" -p "$state/nginx" </dev/null >>"$state/nginx/stderr" 2>&1 &
    echo $! >"$state/nginx/pid"
    wait_http "$(url_of edge)/edge/status" 20 "$state/nginx/pid" ||
        { cat "$state/nginx/stderr" >&2; die "nginx did not start; see $state/nginx/error.log"; }
    log "edge (nginx) at $(url_of edge) (pid $(cat "$state/nginx/pid"))"
}

ingest_fixtures() {
    [ "${CLUSTER_FIXTURES:-1}" = 1 ] || return 0
    [ -f "$state/fixtures-ingested" ] && return 0
    export XDG_CONFIG_HOME=$state/config
    secret CADENZA_ADMIN_PASSWORD | "$bin/cadenza-admin" login --server "$(url_of edge)" \
        --username admin --password-stdin >/dev/null
    log "ingesting the fixture catalog through the edge"
    # Music only: the podcast episodes in fixtures/audio/podcast are not songs.
    find "$root/fixtures/audio" -mindepth 1 -maxdepth 1 -type d ! -name podcast -print0 |
        CADENZA_SERVER=$(url_of edge) xargs -0 "$bin/cadenza-admin" ingest >"$state/ingest.log" 2>&1 ||
        { tail -n 20 "$state/ingest.log" >&2; die "ingesting the fixtures failed; see $state/ingest.log"; }
    touch "$state/fixtures-ingested"
}

pidfile_of() {
    case " ${weeds[*]} ${servers[*]} edge " in
        *" $1 "*) ;;
        *) die "no part named $1 (the parts are ${weeds[*]}, ${servers[*]} and edge)" ;;
    esac
    if [ "$1" = edge ]; then echo "$state/nginx/pid"; else echo "$state/$1/pid"; fi
}

# The settings `up` ran with, for `part NAME start` later (the environment wins).
save_settings() {
    printf 'CLUSTER_CDN=%q\nCLUSTER_BALANCE=%q\nCLUSTER_LIMIT_RATE=%q\nCLUSTER_CATALOG=%q\n' \
        "${CLUSTER_CDN:-1}" "${CLUSTER_BALANCE:-round_robin}" "${CLUSTER_LIMIT_RATE:-}" \
        "${CLUSTER_CATALOG:-sqlite}" >"$state/settings"
}
load_settings() {
    [ -f "$state/settings" ] || return 0
    local line name
    while IFS= read -r line; do
        name=${line%%=*}
        [ -n "${!name+set}" ] || eval "export $line"
    done <"$state/settings"
}

# ---------------------------------------------------------------- verbs
up() {
    install_missing
    binaries
    first_setup
    save_settings
    catalog_flags >/dev/null
    local w
    for w in "${weeds[@]}"; do start_weed "$w" & done
    wait_all "the SeaweedFS servers"
    choose_ports
    # The first server creates the catalog and the admin account; then the others.
    start_server "${servers[0]}"
    local s
    for s in "${servers[@]:1}"; do start_server "$s"; done
    start_edge
    ingest_fixtures
    echo "$(url_of edge)" >"$state/url"
    log "up: ${#servers[@]} servers behind the edge on ${#weeds[@]} SeaweedFS servers (R=${#weeds[@]}), catalog ${CLUSTER_CATALOG:-sqlite}, CDN mode $([ "${CLUSTER_CDN:-1}" = 1 ] && echo on || echo off)"
    log "admin password in $state/secrets.env (CADENZA_ADMIN_PASSWORD); player:"
    log "  cadenza --server $(url_of edge)       (log in as admin)"
    echo "$(url_of edge)"
}

status() {
    [ -s "$state/ports" ] || { log "no cluster in $state (run: scripts/cluster.sh up)"; exit 2; }
    local down=0 s line
    for s in "${weeds[@]}"; do
        if alive "$state/$s/pid"; then
            line=$(curl -s -o /dev/null -w '%{http_code}' -m 3 "$(cat "$state/$s/endpoint")/$bucket?list-type=2&max-keys=1" || true)
            printf '%-5s up    pid %-7s %s  bucket %s: %s\n' "$s" "$(cat "$state/$s/pid")" "$(cat "$state/$s/endpoint")" "$bucket" \
                "$([ "$line" = 200 ] && echo listed || echo "no answer ($line)")"
        else
            printf '%-5s DOWN  %s\n' "$s" "$(cat "$state/$s/endpoint" 2>/dev/null)"
            down=1
        fi
    done
    for s in "${servers[@]}"; do
        if alive "$state/$s/pid"; then
            line=$(curl -s -m 3 "$(url_of "$s")/readyz" || echo "no answer")
            printf '%-5s up    pid %-7s %s  readyz: %s\n' "$s" "$(cat "$state/$s/pid")" "$(url_of "$s")" "$line"
        else
            printf '%-5s DOWN  %s\n' "$s" "$(url_of "$s")"
            down=1
        fi
    done
    if alive "$state/nginx/pid"; then
        printf '%-5s up    pid %-7s %s\n' edge "$(cat "$state/nginx/pid")" "$(url_of edge)"
        local answered=()
        for _ in 1 2 3 4 5 6; do
            answered+=("$(curl -s -m 3 -o /dev/null -D - "$(url_of edge)/healthz" |
                sed -n 's/^[Xx]-[Cc]adenza-[Ss]erver: *\([^[:space:]]*\).*/\1/p')")
        done
        echo "      /healthz answered by: ${answered[*]:-nobody}"
        curl -s -m 3 "$(url_of edge)/edge/status" | sed 's/^/      /'
    else
        printf '%-5s DOWN  %s\n' edge "$(url_of edge)"
        down=1
    fi
    echo "url: $(url_of edge)"
    exit "$down"
}

down() {
    [ -d "$state" ] || { log "nothing to stop: no cluster in $state"; return 0; }
    # The edge first, so no request reaches a server that is going away.
    stop_pid "$state/nginx/pid" TERM
    local s
    for s in "${servers[@]}"; do stop_pid "$state/$s/pid" TERM & done
    wait
    # The blob stores last: a server finishing a request may still read from them.
    for s in "${weeds[@]}"; do stop_pid "$state/$s/pid" TERM & done
    wait
    log "down: nothing of the cluster in $state is running (the data stays; 'wipe' deletes it)"
}

part() {
    local name=${1:-} action=${2:-} file
    [ -n "$name" ] && [ -n "$action" ] || die "usage: scripts/cluster.sh part NAME stop|kill|start"
    [ -s "$state/ports" ] || die "no cluster in $state (run: scripts/cluster.sh up)"
    file=$(pidfile_of "$name")
    case $action in
        stop) stop_pid "$file" TERM; log "$name stopped" ;;
        kill)
            alive "$file" || die "$name is not running"
            kill -KILL "$(cat "$file")"
            rm -f "$file"
            log "$name killed (SIGKILL)"
            ;;
        start)
            load_settings
            binaries
            case $name in
                edge) start_edge ;;
                weed*) start_weed "$name" ;;
                *) start_server "$name" ;;
            esac
            ;;
        *) die "part $name: say stop, kill or start, not $action" ;;
    esac
}

case ${1:-} in
    up) up ;;
    status) status ;;
    down) down ;;
    part) shift; part "$@" ;;
    wipe) down; rm -rf "$state"; log "deleted $state" ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
