#!/usr/bin/env bash
# Cadenza's benchmark suite: one command, one table. Every comparison runs both sides in this
# run on this machine; figures are medians over several runs. See BENCHMARKS.md.
#
#   scripts/bench.sh              full run (about 30-40 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh      short runs and a smaller catalog, for development
#
# Settings (environment):
#   QUICK=1              1 run of 3 s per wrk comparison, 100,000 songs, 200 ingested files,
#                        listeners: 20 songs, 300/600 listeners for 8 s, a 4-run limit search
#   BENCH_SONGS=N        catalog size (default 1,000,000; QUICK 100,000)
#   BENCH_RUNS=N         runs per comparison (default 5; QUICK 1)
#   BENCH_SECONDS=N      seconds per wrk run (default 10; QUICK 3)
#   BENCH_FILES=N        files for the ingestion benchmark (default 2,000; QUICK 200)
#   BENCH_LISTEN_SONGS=N songs the simulated listeners share (default 100; QUICK 20)
#   BENCH_LISTEN_MAX=N   most listeners the limit search tries (default 8,000, or what the
#                        open-file limit allows)
#   BENCH_LIKE_QUERIES=N queries for the LIKE baseline (default all 1,000; QUICK 100)
#   BENCH_CATALOG_CACHE=DIR  keep the generated catalog in DIR and reuse it next time
#                        (it is copied, never modified; delete DIR to regenerate)
#   BENCH_TMP=DIR        where the temporary data goes (default /tmp; same disk for both sides)
#   BENCH_KEEP=1         keep the temporary folder (logs, data) after the run
#   BENCH_ONLY="a b"     run only some benchmarks: startup search stream listeners ingest player s3
#                        subsonic postgres cluster (postgres: the same catalog in PostgreSQL with
#                        a streaming replica: load time, search over HTTP and writes at 16
#                        connections against SQLite, replica lag under the write load)
#   BENCH_S3_FILES=N     files for the S3 ingestion benchmark (default 100; QUICK 30)
#   BENCH_OUT=FILE       also write the table as Markdown (default target/bench/last-run.md)
#   BENCH_SERVER=FILE    run this cadenza-server binary instead of the one built here, and
#   BENCH_HELPER=FILE    this cadenza-bench (it links the catalog for in-process search): for
#                        before/after comparisons with a build of an older commit
#
# It installs wrk, nginx and curl when missing (apt-get), builds the release binaries it needs
# once, generates its data in a temporary folder, and stops every process it started, also on
# Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
    songs=${BENCH_SONGS:-100000} runs=${BENCH_RUNS:-1} seconds=${BENCH_SECONDS:-3}
    files=${BENCH_FILES:-200} like_queries=${BENCH_LIKE_QUERIES:-100} search_rounds=1
    listen_songs=${BENCH_LISTEN_SONGS:-20} listen_counts="300 600" listen_seconds=8
    listen_ramp=3 listen_trials=4
    s3_files=${BENCH_S3_FILES:-30}
else
    songs=${BENCH_SONGS:-1000000} runs=${BENCH_RUNS:-5} seconds=${BENCH_SECONDS:-10}
    files=${BENCH_FILES:-2000} like_queries=${BENCH_LIKE_QUERIES:-1000} search_rounds=3
    listen_songs=${BENCH_LISTEN_SONGS:-100} listen_counts="1000 2000" listen_seconds=15
    listen_ramp=5 listen_trials=8
    s3_files=${BENCH_S3_FILES:-100}
fi
only=${BENCH_ONLY:-startup search stream listeners ingest player s3 subsonic postgres cluster}
out_md=${BENCH_OUT:-$root/target/bench/last-run.md}
wants() { [[ " $only " == *" $1 "* ]]; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# ---------------------------------------------------------------- tools
# What building needs (the player links ALSA), then what measuring needs.
scripts/setup.sh
missing=()
for tool in wrk nginx curl tmux jq; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    packages=("${missing[@]/nginx/nginx-light}")
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

packages=(-p cadenza-server -p cadenza-admin -p cadenza-fixtures-cli -p cadenza-bench)
if wants s3 || wants cluster; then packages+=(-p cadenza-seaweed); fi
wants player && packages+=(-p cadenza)
log "building release binaries: ${packages[*]}"
cargo build --release --quiet "${packages[@]}"
bin=$root/target/release
bench=${BENCH_HELPER:-$bin/cadenza-bench}
server_bin=${BENCH_SERVER:-$bin/cadenza-server}

# ---------------------------------------------------------------- processes and cleanup
tmp=$(mktemp -d "${BENCH_TMP:-/tmp}/cadenza-bench.XXXXXX")
pids=()
pg_dirs=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    # Best effort from here on: one failure must not leave the rest running.
    set +e
    for dir in "${pg_dirs[@]}"; do
        pg_as "$pg_bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
    done
    if [ -n "${tmux_sock:-}" ]; then
        tmux -L "$tmux_sock" kill-server 2>/dev/null
    fi
    [ -n "${cluster_dir:-}" ] && CLUSTER_DIR=$cluster_dir scripts/cluster.sh down 2>/dev/null
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        log "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export XDG_CONFIG_HOME=$tmp/config XDG_CACHE_HOME=$tmp/cache

forget_pid() { local keep=() p; for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; pids=("${keep[@]}"); }

# Stops a process started here (not necessarily our child): TERM, then KILL after 10 s.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# start_server NAME DATA_DIR [server flags...]: starts cadenza-server, waits for /readyz and
# sets server_pid, server_url, server_ready_ms.
start_server() {
    local name=$1 data=$2
    shift 2
    local line
    line=$("$bench" start --stdout "$tmp/$name.out" --stderr "$tmp/$name.err" -- \
        "$server_bin" --data-dir "$data" --listen 127.0.0.1:0 --shutdown-grace 2s \
        --log-level warn "$@") || die "cadenza-server ($name) did not start; see above"
    server_pid=$(kv pid "$line")
    pids+=("$server_pid")
    server_url=$(kv url "$line")
    server_ready_ms=$(kv ready_ms "$line")
}

# serve_www_with_nginx [LISTEN_OPTIONS]: starts nginx (sendfile on, keep-alive, one worker per
# core, no access log) serving $tmp/www on a free port, with LISTEN_OPTIONS added to its
# `listen` line: sets nginx_pid and nginx_port. Each comparison gives it copies of the files
# Cadenza serves, on the same disk.
serve_www_with_nginx() {
    local listen_options=${1:-}
    mkdir -p "$tmp/nginx" "$tmp/www"
    nginx_port=18080
    while (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null; do nginx_port=$((nginx_port + 1)); done
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root root;"
    cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
worker_processes auto;
worker_rlimit_nofile $(ulimit -n);
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    sendfile on;
    # tcp_nopush stays off (the default): with it, this kernel and nginx 1.22 stall ~40 ms per
    # keep-alive response at low concurrency, which would make the baseline look slow.
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    scgi_temp_path $tmp/nginx/scgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    types { audio/wav wav; }
    server {
        listen 127.0.0.1:$nginx_port${listen_options:+ $listen_options};
        root $tmp/www;
    }
}
EOF
    "$nginx_bin" -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr" &
    nginx_pid=$!
    pids+=("$nginx_pid")
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && return 0
        kill -0 "$nginx_pid" 2>/dev/null || { cat "$tmp/nginx/stderr" >&2; die "nginx did not start"; }
        sleep 0.1
    done
    die "nginx did not answer on port $nginx_port"
}

# kv KEY "k=v k2=v2": the value of KEY.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n 1; }
rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# "VmRSS RssAnon" in KiB. VmRSS includes catalog pages SQLite reads through mmap (file-backed,
# reclaimable); RssAnon is the heap and stacks. Targets are judged on VmRSS.
mem_kb() { awk '$1 == "VmRSS:" { v = $2 } $1 == "RssAnon:" { a = $2 } END { print v, a }' "/proc/$1/status"; }
mem_text() { echo "$(mb "$1") (anon $(mb "$2"))"; } # VMRSS_KB ANON_KB
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { x = $1; printf \"%.${2:-2}f\", x }"; }

login() { # URL PASSWORD -> token
    curl -sf -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$2\"}" "$1/api/v1/auth/login" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# ---------------------------------------------------------------- the table
rows=$tmp/rows.tsv
: >"$rows"
# row BENCHMARK CADENZA BASELINE RATIO TARGET VERDICT
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$rows"; }
# verdict VALUE OP LIMIT: pass/miss ("-" when there is no figure)
verdict() {
    case $1 in nan | "" | -) echo "-"; return ;; esac
    if awk "BEGIN { exit !($1 $2 $3) }"; then echo pass; else echo MISS; fi
}

# ---------------------------------------------------------------- the catalog
catalog_data=$tmp/catalog
generate_catalog() {
    local dest=$1
    log "generating a catalog of $songs songs (cadenza-fixtures catalog)"
    "$bin/cadenza-fixtures" catalog --songs "$songs" --users 1000 --seed 1 --data-dir "$dest" \
        >"$tmp/fixtures-catalog.log" 2>&1 || { cat "$tmp/fixtures-catalog.log" >&2; die "catalog generation failed"; }
}
if wants startup || wants search || wants stream || wants listeners || wants player || wants subsonic || wants postgres || wants cluster; then
    if [ -n "${BENCH_CATALOG_CACHE:-}" ]; then
        cache=$BENCH_CATALOG_CACHE/songs-$songs
        if [ ! -f "$cache/.complete" ]; then
            rm -rf "$cache"
            generate_catalog "$cache"
            touch "$cache/.complete"
        fi
        log "copying the cached catalog from $cache"
        cp -a "$cache" "$catalog_data"
    else
        generate_catalog "$catalog_data"
    fi
    if wants cluster; then
        # The cluster starts from the catalog as generated: its blobs live on its SeaweedFS
        # servers, and the main server's local volumes are not theirs.
        mkdir -p "$tmp/cluster/data"
        cp -a "$catalog_data"/catalog.sqlite* "$tmp/cluster/data/"
    fi
    sync
fi

# ---------------------------------------------------------------- 4. start-up and idle memory
if wants startup; then
    log "start-up: $runs starts on the $songs-song catalog"
    : >"$tmp/startup"
    for _ in $(seq 1 "$runs"); do
        start_server startup "$catalog_data"
        sleep 1
        echo "$server_ready_ms $(mem_kb "$server_pid")" >>"$tmp/startup"
        stop "$server_pid"
    done
    ready=$(cut -d' ' -f1 "$tmp/startup" | median)
    idle=$(cut -d' ' -f2 "$tmp/startup" | median)
    anon=$(cut -d' ' -f3 "$tmp/startup" | median)
    row "start-up to /readyz, ${songs} songs (ms)" "$(calc "$ready" 0)" "-" "-" "< 1000" "$(verdict "$ready" '<' 1000)"
    row "RSS idle after start (MB)" "$(mem_text "$idle" "$anon")" "-" "-" "< 50" "$(verdict "$(mb "$idle")" '<' 50)"
fi

# The main server (search, streaming, listeners, player, Subsonic) runs on the same catalog.
if wants search || wants stream || wants listeners || wants player || wants subsonic || wants cluster; then
    start_server main "$catalog_data"
    main_pid=$server_pid main_url=$server_url
    token=$(login "$main_url" password)
    [ -n "$token" ] || die "cannot log in to the catalog's server as admin"
fi

# ---------------------------------------------------------------- 2. search
# wrk_run KIND OUT [wrk args...]: one wrk run with a bench/wrk script; appends its RESULT line.
wrk_run() {
    local script=$1 out=$2
    shift 2
    wrk --timeout 10s --latency -s "$root/bench/wrk/$script.lua" "$@" >"$tmp/wrk.out" 2>&1 ||
        { cat "$tmp/wrk.out" >&2; die "wrk failed"; }
    grep '^RESULT' "$tmp/wrk.out" | head -n 1 | cut -d' ' -f2- >>"$out" ||
        { cat "$tmp/wrk.out" >&2; die "wrk printed no result"; }
}
# search_runs OUT TOKEN URL CONNS: $runs wrk runs of the search paths in $tmp/paths.txt at
# CONNS connections, one result line each in OUT (emptied first).
search_runs() {
    local out=$1 token=$2 url=$3 conns=$4
    : >"$out"
    for _ in $(seq 1 "$runs"); do
        BENCH_PATHS=$tmp/paths.txt BENCH_TOKEN=$token \
            wrk_run search "$out" -t"$((conns < 2 ? 1 : 2))" -c"$conns" -d"${seconds}s" "$url"
    done
}
# column FILE KEY: that key's values, one per line
column_of() { while read -r line; do kv "$2" "$line"; done <"$1"; }
per_second() { # FILE KEY: KEY / duration per run, one per line
    while read -r line; do
        calc "$(kv "$2" "$line") / ($(kv duration_us "$line") / 1000000)" 3
        echo
    done <"$1"
}
ms_median() { calc "$(column_of "$1" "$2" | median) / 1000" "${3:-1}"; } # FILE KEY_US [DECIMALS]
sum_of() { local total=0 v; for v in $(column_of "$1" "$2"); do total=$((total + v)); done; echo "$total"; }
# latency_rows LABEL FILE_CADENZA FILE_BASELINE [MOST]: two rows for wrk runs of the stream
# script. Latency per request (wrk's histogram): the medians over the runs of each run's p50,
# p99 and slowest request, with p99 held to MOST times the baseline's when given; then the
# requests over 2 s (a player's buffer), summed over the runs, where the target is none.
latency_rows() {
    local label=$1 c=$2 n=$3 most=${4:-} ratio target="-" ok="-" slow
    latency() { echo "$(ms_median "$1" p50_us) / $(ms_median "$1" p99_us) / $(ms_median "$1" max_us)"; }
    ratio=$(calc "$(ms_median "$c" p99_us 3) / $(ms_median "$n" p99_us 3)" 2)
    [ -n "$most" ] && target="p99 <= ${most}x" ok=$(verdict "$ratio" '<=' "$most")
    row "$label: p50 / p99 / max (ms)" "$(latency "$c")" "$(latency "$n")" "${ratio}x p99" "$target" "$ok"
    slow=$(sum_of "$c" over_2s)
    row "$label: requests over 2 s" "$slow" "$(sum_of "$n" over_2s)" "-" "0" "$(verdict "$slow" '==' 0)"
}
sum_errors() { # FILE: socket + non-2xx/3xx errors over all runs
    local total=0 line
    while read -r line; do
        total=$((total + $(kv socket_errors "$line") + $(kv status_errors "$line")))
    done <"$1"
    echo "$total"
}

if wants search; then
    db=$catalog_data/catalog.sqlite
    "$bench" queries --db "$db" --count 1000 >"$tmp/queries.txt"
    "$bench" queries --db "$db" --count 1000 --paths 20 >"$tmp/paths.txt"
    log "search in process: 1,000 queries x $search_rounds rounds"
    inproc=$("$bench" search --db "$db" --queries "$tmp/queries.txt" --engine cadenza --rounds "$search_rounds")
    log "  $inproc"
    row "search in process p50 (ms), 1,000 queries" "$(kv p50_ms "$inproc")" "-" "-" "-" "-"
    row "search in process p99 (ms)" "$(kv p99_ms "$inproc")" "-" "-" "-" "-"

    log "search: LIKE baseline on $like_queries of the queries (slow by design)"
    like=$("$bench" search --db "$db" --queries "$tmp/queries.txt" --engine like --rounds 1 --sample "$like_queries")
    same=$("$bench" search --db "$db" --queries "$tmp/queries.txt" --engine cadenza --rounds 1 --sample "$like_queries")
    log "  LIKE:    $like"
    log "  Cadenza: $same"
    for p in p50 p99; do
        c=$(kv ${p}_ms "$same") b=$(kv ${p}_ms "$like")
        ratio=$(calc "$b / $c" 1)
        row "search $p vs LIKE '%q%' (ms), $(kv queries "$like") queries" "$c" "$b" "${ratio}x faster" ">= 20x" "$(verdict "$ratio" '>=' 20)"
    done
    row "search queries with results (of $(kv queries "$like"))" "$(kv with_results "$same")" "$(kv with_results "$like")" "-" "-" "-"

    for conns in 1 16; do
        log "search over HTTP: wrk -c$conns, $runs x ${seconds}s"
        search_runs "$tmp/search-$conns" "$token" "$main_url" "$conns"
        p50=$(calc "$(column_of "$tmp/search-$conns" p50_us | median) / 1000" 2)
        p99=$(calc "$(column_of "$tmp/search-$conns" p99_us | median) / 1000" 2)
        rps=$(per_second "$tmp/search-$conns" requests | median)
        errors=$(sum_errors "$tmp/search-$conns")
        row "search over HTTP, $conns conn: p50 (ms)" "$p50" "-" "-" "-" "-"
        row "search over HTTP, $conns conn: p99 (ms)" "$p99" "-" "-" "< 10" "$(verdict "$p99" '<' 10)"
        row "search over HTTP, $conns conn: req/s (errors)" "$(calc "$rps" 0) ($errors)" "-" "-" "0 errors" "$(verdict "$errors" '==' 0)"
    done
    read -r rss anon < <(mem_kb "$main_pid")
    row "RSS after the HTTP search runs (MB)" "$(mem_text "$rss" "$anon")" "-" "-" "< 50" "$(verdict "$(mb "$rss")" "<" 50)"
fi

# ---------------------------------------------------------------- a 5 MB song (streaming, player)
size=5000000
make_song() {
    "$bin/cadenza-fixtures" audio --count 1 --seconds "$(calc "($size - 44) / 88200" 4)" --seed 99 \
        --out "$tmp/stream-src" >/dev/null
    song_file=$(find "$tmp/stream-src" -type f -name '*.wav' | head -n 1)
}
if wants stream || wants player || wants subsonic || wants cluster; then
    log "a ${size}-byte song, ingested through cadenza-admin"
    make_song
    CADENZA_SERVER=$main_url CADENZA_TOKEN=$token "$bin/cadenza-admin" ingest "$song_file" \
        --report "$tmp/stream-ingest.jsonl" >"$tmp/stream-ingest.log" 2>&1 ||
        { cat "$tmp/stream-ingest.log" >&2; die "ingesting the streaming song failed"; }
    song_id=$(sed -n 's/.*"song_id":\([0-9]*\).*/\1/p' "$tmp/stream-ingest.jsonl" | head -n 1)
    song_title=$(sed -n 's/.*"tags":{"title":"\([^"]*\)".*/\1/p' "$tmp/stream-ingest.jsonl" | head -n 1)
    song_artist=$(sed -n 's/.*"tags":{[^}]*"artist":"\([^"]*\)".*/\1/p' "$tmp/stream-ingest.jsonl" | head -n 1)
    if [ -z "$song_id" ] || [ -z "$song_title" ]; then
        die "no song id or title in $tmp/stream-ingest.jsonl"
    fi
    size=$(stat -c %s "$song_file")
fi

# start_nginx: nginx serving a copy of the song from the same disk, with sendfile; sets
# nginx_pid and port.
start_nginx() {
    mkdir -p "$tmp/www"
    cp "$song_file" "$tmp/www/song.wav"
    serve_www_with_nginx
    port=$nginx_port
}

# ---------------------------------------------------------------- 1. streaming vs nginx
if wants stream; then
    if wants search; then
        # Streaming memory is measured from a fresh process.
        stop "$main_pid"
        start_server main "$catalog_data"
        main_pid=$server_pid main_url=$server_url
    fi
    sleep 1
    stream_idle=$(rss_kb "$main_pid" VmRSS)
    start_nginx
    cmp -s <(curl -sf "http://127.0.0.1:$port/song.wav") \
        <(curl -sf -H "Authorization: Bearer $token" "$main_url/api/v1/songs/$song_id/stream") ||
        die "nginx and Cadenza do not serve the same bytes"

    for mode in full range; do
        for conns in 1 16 256; do
            threads=$((conns < 2 ? 1 : 2))
            range_env=""
            [ "$mode" = range ] && range_env=65536
            label="5 MB file"
            [ "$mode" = range ] && label="64 KB ranges"
            log "streaming $label, $conns conn: $runs x ${seconds}s per side"
            : >"$tmp/stream-c" && : >"$tmp/stream-n" && : >"$tmp/rss-peak"
            for _ in $(seq 1 "$runs"); do
                if [ "$conns" = 256 ]; then
                    (
                        peak=0 peak_anon=0
                        while [ ! -f "$tmp/rss-stop" ] && kill -0 "$main_pid" 2>/dev/null; do
                            read -r r a < <(mem_kb "$main_pid" 2>/dev/null || echo 0 0)
                            [ "${r:-0}" -gt "$peak" ] && peak=$r
                            [ "${a:-0}" -gt "$peak_anon" ] && peak_anon=$a
                            sleep 0.1
                        done
                        echo "$peak $peak_anon" >>"$tmp/rss-peak"
                    ) &
                    sampler=$!
                    pids+=("$sampler")
                fi
                BENCH_PATH=/api/v1/songs/$song_id/stream BENCH_TOKEN=$token BENCH_RANGE_BYTES=$range_env \
                    BENCH_FILE_SIZE=$size wrk_run stream "$tmp/stream-c" -t"$threads" -c"$conns" -d"${seconds}s" "$main_url"
                if [ "$conns" = 256 ]; then
                    touch "$tmp/rss-stop"
                    wait "$sampler" || true
                    forget_pid "$sampler"
                    rm -f "$tmp/rss-stop"
                fi
                BENCH_PATH=/song.wav BENCH_TOKEN=$token BENCH_RANGE_BYTES=$range_env BENCH_FILE_SIZE=$size \
                    wrk_run stream "$tmp/stream-n" -t"$threads" -c"$conns" -d"${seconds}s" "http://127.0.0.1:$port"
            done
            rps_c=$(per_second "$tmp/stream-c" requests | median)
            rps_n=$(per_second "$tmp/stream-n" requests | median)
            mbs_c=$(calc "$(per_second "$tmp/stream-c" bytes | median) / 1000000" 1)
            mbs_n=$(calc "$(per_second "$tmp/stream-n" bytes | median) / 1000000" 1)
            errors=$(sum_errors "$tmp/stream-c")
            # Whole files at 256 connections are the fairness case: as fast as nginx, and as
            # fair (every download finishes about when nginx's do).
            least=0.8 fair_case=0
            [ "$mode $conns" = "full 256" ] && least=1.0 fair_case=1
            ratio=$(calc "$rps_c / $rps_n" 2)
            ok=$(verdict "$ratio" '>=' "$least")
            [ "$errors" = 0 ] || ok="MISS ($errors errors)"
            row "stream $label, $conns conn: req/s" "$(calc "$rps_c" 0)" "$(calc "$rps_n" 0)" "${ratio}x" ">= ${least}x nginx" "$ok"
            ratio=$(calc "$mbs_c / $mbs_n" 2)
            row "stream $label, $conns conn: MB/s" "$mbs_c" "$mbs_n" "${ratio}x" ">= ${least}x nginx" "$(verdict "$ratio" '>=' "$least")"
            most=""
            [ "$fair_case" = 1 ] && most=1.5
            latency_rows "stream $label, $conns conn" "$tmp/stream-c" "$tmp/stream-n" "$most"
            if [ "$conns" = 256 ]; then
                peak=$(cut -d' ' -f1 "$tmp/rss-peak" | median)
                peak_anon=$(cut -d' ' -f2 "$tmp/rss-peak" | median)
                growth=$(calc "($peak - $stream_idle) / 1024" 1)
                row "RSS peak under 256 conns ($label), MB" "$(mem_text "$peak" "$peak_anon")" "$(mb "$stream_idle") idle" "+$growth MB" "growth < 50 MB" "$(verdict "$growth" '<' 50)"
            fi
        done
    done
    stop "$nginx_pid"
    nginx_pid=""
fi
# ---------------------------------------------------------------- 6. Subsonic vs /api/v1
# The same work through both APIs of one server: the same search queries (search3 with the
# /api/v1 page size for each group) and the same 5 MB song, whole and in 64 KB ranges. The
# Subsonic side signs in with an API key on every request, as clients do.
if wants subsonic; then
    key=$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"kind":"api_key","name":"bench"}' "$main_url/api/v1/me/credentials" |
        sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
    [ -n "$key" ] || die "cannot make an API key for the Subsonic benchmark"
    rest_auth="v=1.16.1&c=bench&f=json&apiKey=$key"
    [ -f "$tmp/paths.txt" ] ||
        "$bench" queries --db "$catalog_data/catalog.sqlite" --count 1000 --paths 20 >"$tmp/paths.txt"
    # `&` means "the match" in a sed replacement: the literal ones are escaped.
    sed "s|^/api/v1/search?q=\([^&]*\)&limit=\([0-9]*\)\$|/rest/search3?query=\1\&artistCount=\2\&albumCount=\2\&songCount=\2\&${rest_auth//&/\\&}|" \
        "$tmp/paths.txt" >"$tmp/rest-paths.txt"
    # Both sides must do the same work: the same songs for the first query, and no error
    # documents (which would be fast and prove nothing).
    compared=0
    for n in $(seq 1 20); do
        first_rest=$(sed -n "${n}p" "$tmp/rest-paths.txt") first_v1=$(sed -n "${n}p" "$tmp/paths.txt")
        # Parsed, not grepped: a song carries artist and album-artist ids of its own.
        v1_ids=$(curl -sf -H "Authorization: Bearer $token" "$main_url$first_v1" |
            jq -r '.songs.items[].id' | sort || true)
        [ -n "$v1_ids" ] || continue
        rest_ids=$(curl -sf "$main_url$first_rest" |
            jq -r '."subsonic-response".searchResult3.song // [] | .[].id | ltrimstr("tr-")' | sort || true)
        [ "$rest_ids" = "$v1_ids" ] ||
            die "search3 and /api/v1/search disagree on $first_v1: [$rest_ids] vs [$v1_ids]"
        compared=$((compared + 1))
    done
    [ "$compared" -gt 0 ] || die "none of the first 20 queries found songs to compare"
    cmp -s <(curl -sf -H "Authorization: Bearer $token" "$main_url/api/v1/songs/$song_id/stream") \
        <(curl -sf "$main_url/rest/stream?id=tr-$song_id&$rest_auth") ||
        die "/rest/stream and /api/v1 do not serve the same bytes"
    compare() { # LABEL TARGET_RATIO FILE_REST FILE_V1
        local rps_r rps_v ratio
        rps_r=$(per_second "$3" requests | median) rps_v=$(per_second "$4" requests | median)
        ratio=$(calc "$rps_r / $rps_v" 2)
        local ok
        ok=$(verdict "$ratio" '>=' "$2")
        local errors=$(($(sum_errors "$3") + $(sum_errors "$4")))
        [ "$errors" = 0 ] || ok="MISS ($errors errors)"
        row "$1: req/s, /rest vs /api/v1" "$(calc "$rps_r" 0)" "$(calc "$rps_v" 0)" "${ratio}x" ">= ${2}x" "$ok"
    }
    # Both sides once before measuring: whichever ran first would otherwise pay for reading
    # the catalog's pages from disk.
    log "Subsonic: warming up both sides"
    BENCH_PATHS=$tmp/rest-paths.txt BENCH_TOKEN="" wrk_run search "$tmp/warm-up" -t1 -c1 -d"${seconds}s" "$main_url"
    BENCH_PATHS=$tmp/paths.txt BENCH_TOKEN=$token wrk_run search "$tmp/warm-up" -t1 -c1 -d"${seconds}s" "$main_url"
    for conns in 1 16; do
        threads=$((conns < 2 ? 1 : 2))
        log "Subsonic search3 vs /api/v1/search, $conns conn: $runs x ${seconds}s per side"
        : >"$tmp/sub-search-r" && : >"$tmp/sub-search-v"
        for _ in $(seq 1 "$runs"); do
            BENCH_PATHS=$tmp/rest-paths.txt BENCH_TOKEN="" \
                wrk_run search "$tmp/sub-search-r" -t"$threads" -c"$conns" -d"${seconds}s" "$main_url"
            BENCH_PATHS=$tmp/paths.txt BENCH_TOKEN=$token \
                wrk_run search "$tmp/sub-search-v" -t"$threads" -c"$conns" -d"${seconds}s" "$main_url"
        done
        compare "search3, $conns conn" 0.9 "$tmp/sub-search-r" "$tmp/sub-search-v"
        p50_r=$(ms_median "$tmp/sub-search-r" p50_us 2) p50_v=$(ms_median "$tmp/sub-search-v" p50_us 2)
        row "search3, $conns conn: p50 (ms), /rest vs /api/v1" "$p50_r" "$p50_v" "$(calc "$p50_r / $p50_v" 2)x" "-" "-"
    done
    for mode in full range; do
        range_env="" label="5 MB file"
        [ "$mode" = range ] && range_env=65536 label="64 KB ranges"
        log "Subsonic stream vs /api/v1 stream ($label), 16 conn: $runs x ${seconds}s per side"
        : >"$tmp/sub-stream-r" && : >"$tmp/sub-stream-v"
        for _ in $(seq 1 "$runs"); do
            BENCH_PATH="/rest/stream?id=tr-$song_id&$rest_auth" BENCH_TOKEN="" BENCH_RANGE_BYTES=$range_env \
                BENCH_FILE_SIZE=$size wrk_run stream "$tmp/sub-stream-r" -t2 -c16 -d"${seconds}s" "$main_url"
            BENCH_PATH=/api/v1/songs/$song_id/stream BENCH_TOKEN=$token BENCH_RANGE_BYTES=$range_env \
                BENCH_FILE_SIZE=$size wrk_run stream "$tmp/sub-stream-v" -t2 -c16 -d"${seconds}s" "$main_url"
        done
        compare "stream $label, 16 conn" 0.9 "$tmp/sub-stream-r" "$tmp/sub-stream-v"
        latency_rows "stream $label, 16 conn, /rest vs /api/v1" "$tmp/sub-stream-r" "$tmp/sub-stream-v"
    done
fi

# ---------------------------------------------------------------- 5. player
# The player runs in a private tmux server (--audio null: no sound card here; the silent output
# pulls decoded buffers through the same deck a sound device would, and pulls a new track at
# once, so the figure leaves out a sound card's period, typically 5-20 ms). tmux only drives the keys:
# the figures come from the player's own --timings file, one line per play, measured inside
# the player from the moment it takes the Enter key event to the moment the first decoded
# buffer of the song is handed to the output. Idle CPU from /proc/PID/stat over a quiet interval.
if wants player; then
    tmux_sock=cadenza-bench-$$
    tmx() { tmux -L "$tmux_sock" "$@"; }
    player_pid=""
    mkdir -p "$tmp/player"
    start_player() { # CACHE_DIR TIMINGS_FILE
        tmx kill-server 2>/dev/null || true
        tmx new-session -d -s p -x 120 -y 30 "exec env XDG_CONFIG_HOME='$tmp/player/config' \
            XDG_CACHE_HOME='$1' CADENZA_TOKEN='$token' '$bin/cadenza' --server '$main_url' \
            --audio null --timings '$2' 2>>'$tmp/player/stderr'"
        player_pid=$(tmx list-panes -t p -F '#{pane_pid}')
        pids+=("$player_pid")
        wait_screen "nothing playing" 20 || die "the player did not start; see $tmp/player/stderr"
    }
    quit_player() {
        tmx send-keys -t p q
        for _ in $(seq 1 50); do
            kill -0 "$player_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop "$player_pid"
        tmx kill-server 2>/dev/null || true
    }
    wait_screen() { # TEXT SECONDS: until the screen shows TEXT
        local deadline=$(($(date +%s) + $2))
        until tmx capture-pane -p -t p | grep -qF -- "$1"; do
            [ "$(date +%s)" -lt "$deadline" ] || return 1
            sleep 0.05
        done
    }
    cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
    # Searches for the 5 MB song, presses Enter on the result and prints the player's own
    # figure for that play (ms, from its TIMINGS_FILE), after checking where the bytes came
    # from (SOURCE: stream or cache).
    time_to_play() { # TIMINGS_FILE SOURCE
        local before line deadline
        tmx send-keys -t p /
        tmx send-keys -t p -l "$song_title $song_artist"
        wait_screen "Songs (" 10 || die "the player's search did not find $song_title"
        tmx send-keys -t p Enter # from the search box to the results
        sleep 0.5
        before=$(wc -l <"$1")
        tmx send-keys -t p Enter
        deadline=$(($(date +%s) + 20))
        until [ "$(wc -l <"$1")" -gt "$before" ]; do
            [ "$(date +%s)" -lt "$deadline" ] ||
                die "the player did not start playing $song_title (was it the first search result?)"
            sleep 0.05
        done
        line=$(tail -n 1 "$1")
        [[ "$line" == *" input=enter source=$2 song=$song_id" ]] ||
            die "expected an Enter play of song $song_id from the $2, the player wrote: $line"
        sed -n 's/^key_to_first_buffer_ms=\([0-9.]*\) .*/\1/p' <<<"$line"
    }
    : >"$tmp/player-streamed" && : >"$tmp/player-cached" && : >"$tmp/player-idle"
    for run in $(seq 1 "$runs"); do
        log "player run $run: idle CPU, then Enter to playing (streamed, then cached)"
        cache=$tmp/player/cache-$run
        start_player "$cache" "$tmp/player/timings-$run"
        sleep 1
        c0=$(cpu_ticks "$player_pid") t0=$(date +%s%N)
        sleep "$seconds"
        c1=$(cpu_ticks "$player_pid") t1=$(date +%s%N)
        calc "($c1 - $c0) / $(getconf CLK_TCK) / (($t1 - $t0) / 1e9) * 100" 3 >>"$tmp/player-idle"
        echo >>"$tmp/player-idle"
        time_to_play "$tmp/player/timings-$run" stream >>"$tmp/player-streamed"
        wait_screen "· cached ·" 30 || die "the player did not finish caching $song_title"
        quit_player
        start_player "$cache" "$tmp/player/timings-$run"
        time_to_play "$tmp/player/timings-$run" cache >>"$tmp/player-cached"
        quit_player
    done
    cached=$(calc "$(median <"$tmp/player-cached")" 1)
    streamed=$(calc "$(median <"$tmp/player-streamed")" 1)
    idle_cpu=$(median <"$tmp/player-idle")
    row "player: Enter to first buffer, cached 5 MB song (ms)" "$cached" "-" "-" "< 100" "$(verdict "$cached" '<' 100)"
    row "player: Enter to first buffer, streamed over loopback (ms)" "$streamed" "-" "-" "< 300" "$(verdict "$streamed" '<' 300)"
    row "player: idle CPU, nothing playing (%)" "$idle_cpu" "-" "-" "< 1" "$(verdict "$idle_cpu" '<' 1)"
fi

if [ -n "${main_pid:-}" ] && wants stream; then
    # tokio lets idle blocking threads go after 10 s.
    sleep 12
    read -r idle anon < <(mem_kb "$main_pid")
    row "RSS idle after all the load above (MB)" "$(mem_text "$idle" "$anon")" "-" "-" "< 50" "$(verdict "$(mb "$idle")" '<' 50)"
fi

# ---------------------------------------------------------------- 7. listeners at playback rate
# cadenza-bench listeners: N simulated players on loopback, each playing a song from the start
# at 160 kbit/s (20 KB/s), 2 s buffered before playback, at most 10 s read ahead, arriving at
# random over a few seconds, a quarter of them seeking once (a new ranged request); the same
# client against Cadenza and against nginx serving copies of the same files. Reported: time to
# first byte per request, underruns (playback caught up with the bytes), failed requests, and
# the server's CPU time (utime + stime from /proc, nginx's workers included) per listener.
if wants listeners; then
    log "listeners: $listen_songs songs of 4.2 MB (3.5 minutes at 160 kbit/s), ingested through cadenza-admin"
    "$bin/cadenza-fixtures" audio --count "$listen_songs" --seconds 47.6 --seed 17 \
        --out "$tmp/listen-src" >/dev/null
    CADENZA_SERVER=$main_url CADENZA_TOKEN=$token "$bin/cadenza-admin" ingest "$tmp/listen-src" \
        --jobs 2 --report "$tmp/listen-ingest.jsonl" >"$tmp/listen-ingest.log" 2>&1 ||
        { tail -n 20 "$tmp/listen-ingest.log" >&2; die "ingesting the listeners' songs failed"; }
    # nginx serves each song under its content hash; both sides get the songs in one order.
    mkdir -p "$tmp/www/listen"
    while read -r hash file; do
        cp "$file" "$tmp/www/listen/$hash.wav"
    done < <(find "$tmp/listen-src" -type f -name '*.wav' -print0 | xargs -0 sha256sum)
    : >"$tmp/listen-c.paths" && : >"$tmp/listen-n.paths"
    while IFS= read -r line; do
        id=$(sed -n 's/.*"song_id":\([0-9]*\).*/\1/p' <<<"$line")
        hash=$(sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p' <<<"$line")
        [ -n "$id" ] && [ -f "$tmp/www/listen/$hash.wav" ] || die "cannot match an ingested song: $line"
        echo "/api/v1/songs/$id/stream" >>"$tmp/listen-c.paths"
        echo "/listen/$hash.wav" >>"$tmp/listen-n.paths"
    done <"$tmp/listen-ingest.jsonl"
    [ "$(wc -l <"$tmp/listen-c.paths")" = "$listen_songs" ] ||
        die "expected $listen_songs ingested songs in $tmp/listen-ingest.jsonl"
    # A fixed 128 KiB send buffer per connection (plenty at 20 KB/s): left to autotune, each
    # nginx socket's buffer grows to tcp_wmem's 4 MB, and at about 1,400 listeners the
    # machine's TCP memory (tcp_mem) runs out and the kernel resets connections ("TCP: out of
    # memory" in dmesg): that measures a kernel setting, not nginx. Cadenza bounds its unsent
    # bytes itself (TCP_NOTSENT_LOWAT).
    serve_www_with_nginx sndbuf=128k
    # Every song once on each side first: Cadenza verifies each replica on its first read,
    # both sides find the files in the page cache.
    while read -r path; do
        curl -sf -o /dev/null -r 0-0 -H "Authorization: Bearer $token" "$main_url$path" ||
            die "Cadenza does not serve $path"
    done <"$tmp/listen-c.paths"
    while read -r path; do
        curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$nginx_port$path" || die "nginx does not serve $path"
    done <"$tmp/listen-n.paths"
    listen_max=${BENCH_LISTEN_MAX:-8000}
    room=$(($(ulimit -n) - 200))
    [ "$listen_max" -le "$room" ] || listen_max=$room
    # listen_side c|n ARGS...: one cadenza-bench listeners call against Cadenza or nginx.
    listen_side() {
        local side=$1
        shift
        if [ "$side" = c ]; then
            BENCH_TOKEN=$token "$bench" listeners --addr "${main_url#http://}" --paths "$tmp/listen-c.paths" \
                --pid "$main_pid" --ramp "$listen_ramp" --listen "$listen_seconds" "$@"
        else
            "$bench" listeners --addr "127.0.0.1:$nginx_port" --paths "$tmp/listen-n.paths" \
                --pid "$nginx_pid" --ramp "$listen_ramp" --listen "$listen_seconds" "$@"
        fi
    }
    listen_runs=$((runs < 3 ? runs : 3))
    for count in $listen_counts; do
        log "listeners: $count at once, $listen_runs run(s) of ${listen_seconds}s per side"
        : >"$tmp/listen-$count-c" && : >"$tmp/listen-$count-n"
        for _ in $(seq 1 "$listen_runs"); do
            for side in c n; do
                listen_side "$side" --listeners "$count" 2>>"$tmp/listen.err" | grep '^RESULT' |
                    cut -d' ' -f2- >>"$tmp/listen-$count-$side" || die "the listener run failed; see $tmp/listen.err"
            done
        done
        ttfb() { echo "$(calc "$(column_of "$1" ttfb_p50_ms | median)" 1) / $(calc "$(column_of "$1" ttfb_p99_ms | median)" 1)"; }
        p99_c=$(column_of "$tmp/listen-$count-c" ttfb_p99_ms | median)
        p99_n=$(column_of "$tmp/listen-$count-n" ttfb_p99_ms | median)
        ratio=$(calc "$p99_c / $p99_n" 2)
        row "listeners, $count at 160 kbit/s: TTFB p50 / p99 (ms)" "$(ttfb "$tmp/listen-$count-c")" "$(ttfb "$tmp/listen-$count-n")" "${ratio}x p99" "p99 <= 1.5x nginx" "$(verdict "$ratio" '<=' 1.5)"
        cpu_c=$(column_of "$tmp/listen-$count-c" cpu_per_listener_ms | median)
        cpu_n=$(column_of "$tmp/listen-$count-n" cpu_per_listener_ms | median)
        ratio=$(calc "$cpu_c / $cpu_n" 2)
        row "listeners, $count: server CPU per listener (ms)" "$(calc "$cpu_c" 2)" "$(calc "$cpu_n" 2)" "${ratio}x" "<= 3x nginx" "$(verdict "$ratio" '<=' 3)"
        trouble() { echo "$(sum_of "$1" underruns) ($(sum_of "$1" errors))"; }
        bad=$(($(sum_of "$tmp/listen-$count-c" underruns) + $(sum_of "$tmp/listen-$count-c" errors)))
        row "listeners, $count: underruns (failed requests)" "$(trouble "$tmp/listen-$count-c")" "$(trouble "$tmp/listen-$count-n")" "-" "0 (0)" "$(verdict "$bad" '==' 0)"
    done
    log "listeners: the most with no underrun and no failed request, up to $listen_max ($listen_trials runs a side at most)"
    for side in c n; do
        listen_side "$side" --find-limit --from "${listen_counts##* }" --max "$listen_max" --max-trials "$listen_trials" \
            2>>"$tmp/listen.err" >"$tmp/listen-limit-$side" || die "the listener search failed; see $tmp/listen.err"
        sed -n 's/^RESULT /  /p' "$tmp/listen-limit-$side" >&2
    done
    limit() { sed -n 's/^LIMIT listeners=\([0-9]*\).*/\1/p' "$1"; }
    # "N or more" when no run failed; otherwise the count that failed is shown too.
    beyond() {
        local failed
        failed=$(sed -n 's/^LIMIT .*failed_at=\([0-9]*\).*/\1/p' "$1")
        if [ -n "$failed" ]; then echo " (failed at $failed)"; else echo " or more"; fi
    }
    limit_c=$(limit "$tmp/listen-limit-c") limit_n=$(limit "$tmp/listen-limit-n")
    ratio=$(calc "$limit_c / ($limit_n > 0 ? $limit_n : 1)" 2)
    row "listeners with no underrun (the limit here)" "$limit_c$(beyond "$tmp/listen-limit-c")" "$limit_n$(beyond "$tmp/listen-limit-n")" "${ratio}x" ">= 0.8x nginx" "$(verdict "$ratio" '>=' 0.8)"
    mkdir -p "$root/target/bench"
    cp "$tmp/listen-limit-c" "$root/target/bench/listeners.txt"
    log "capacity with this limit: cadenza-admin capacity --calibrate --listeners-per-server $limit_c"
    stop "$nginx_pid"
fi

if [ -n "${main_pid:-}" ]; then
    stop "$main_pid"
fi

# ---------------------------------------------------------------- 3. ingestion vs cp + sha256sum
if wants ingest; then
    log "ingestion: generating $files audio files"
    src=$tmp/ingest-src
    "$bin/cadenza-fixtures" audio --count "$files" --seconds 5 --seed 3 --out "$src" >/dev/null
    bytes=$(du -sb "$src" | cut -f1)
    : >"$tmp/ingest-c" && : >"$tmp/ingest-l"
    for run in $(seq 1 "$((runs < 3 ? runs : 3))"); do
        log "ingestion run $run: physical limit (sha256sum + cp into 3 folders + sync)"
        lim=$tmp/limit-$run
        mkdir -p "$lim"
        sync
        t0=$(date +%s%N)
        (
            find "$src" -type f -print0 | xargs -0 sha256sum >/dev/null &
            for v in 1 2 3; do cp -r "$src" "$lim/vol$v" & done
            wait
            sync
        )
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000))" >>"$tmp/ingest-l"
        rm -rf "$lim"

        log "ingestion run $run: cadenza-admin ingest --jobs 4 into a fresh server (R=3)"
        password=bench-$RANDOM-$RANDOM
        CADENZA_ADMIN_PASSWORD=$password start_server "ingest-$run" "$tmp/ingest-data-$run"
        itoken=$(login "$server_url" "$password")
        sync
        t0=$(date +%s%N)
        CADENZA_SERVER=$server_url CADENZA_TOKEN=$itoken "$bin/cadenza-admin" ingest "$src" --jobs 4 \
            >"$tmp/ingest-$run.log" 2>&1 || { tail -n 20 "$tmp/ingest-$run.log" >&2; die "ingestion failed"; }
        sync
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000))" >>"$tmp/ingest-c"
        stop "$server_pid"
        rm -rf "$tmp/ingest-data-$run"
    done
    c_us=$(median <"$tmp/ingest-c") l_us=$(median <"$tmp/ingest-l")
    c_fps=$(calc "$files / ($c_us / 1000000)" 1) l_fps=$(calc "$files / ($l_us / 1000000)" 1)
    c_mbs=$(calc "$bytes / $c_us" 1) l_mbs=$(calc "$bytes / $l_us" 1)
    ratio=$(calc "$l_us / $c_us" 2)
    row "ingest $files files ($(calc "$bytes / 1000000" 0) MB), R=3: files/s" "$c_fps" "$l_fps" "${ratio}x" ">= 0.5x cp+sha256sum" "$(verdict "$ratio" '>=' 0.5)"
    row "ingest, R=3: MB/s" "$c_mbs" "$l_mbs" "${ratio}x" ">= 0.5x cp+sha256sum" "$(verdict "$ratio" '>=' 0.5)"
fi

# ---------------------------------------------------------------- 8. S3 volumes (SeaweedFS)
# Three real SeaweedFS servers on loopback (cadenza-seaweed starts them: free ports, temp
# dirs), one volume each, R=3. Ingestion is compared with raw PUTs of the same files to the
# same servers (three in parallel per file, 4 files at a time, as the ingest runs); streaming
# with local volumes and nginx; and the first byte of a song a fresh server never read.
if wants s3; then
    log "S3: starting three SeaweedFS servers"
    "$bin/cadenza-seaweed" 3 cadenza-bench >"$tmp/weed.out" 2>"$tmp/weed.err" &
    weed_pid=$!
    pids+=("$weed_pid")
    for _ in $(seq 1 1200); do
        grep -q '^ready' "$tmp/weed.out" && break
        kill -0 "$weed_pid" 2>/dev/null || { cat "$tmp/weed.err" >&2; die "SeaweedFS did not start (scripts/setup.sh installs it)"; }
        sleep 0.1
    done
    mapfile -t endpoints < <(sed -n 's/^endpoint=\([^ ]*\) .*/\1/p' "$tmp/weed.out")
    [ "${#endpoints[@]}" = 3 ] || die "expected three SeaweedFS endpoints in $tmp/weed.out"
    s3_volumes() { # PREFIX: --volume flags for the three servers
        local i=0 e
        for e in "${endpoints[@]}"; do
            i=$((i + 1))
            printf -- '--volume\ns3v%s=s3://cadenza-bench/%s?endpoint=%s&anonymous=true\n' "$i" "$1" "$e"
        done
    }

    # a. ingestion onto S3 vs raw PUTs
    src=$tmp/s3-src
    "$bin/cadenza-fixtures" audio --count "$s3_files" --seconds 20 --seed 5 --out "$src" >/dev/null
    bytes=$(du -sb "$src" | cut -f1)
    : >"$tmp/s3-ingest-c" && : >"$tmp/s3-ingest-raw"
    export S3_ENDPOINTS="${endpoints[*]}"
    for run in $(seq 1 "$((runs < 3 ? runs : 3))"); do
        log "S3 ingestion run $run: raw PUTs, each file to the three servers"
        t0=$(date +%s%N)
        find "$src" -type f -print0 | RUN=$run xargs -0 -P 4 -n 1 bash -c '
            key=$(printf %s "$1" | sha256sum | cut -c1-32)
            for e in $S3_ENDPOINTS; do
                curl -sf -o /dev/null -T "$1" "$e/cadenza-bench/raw-$RUN/$key" &
            done
            wait' _ || die "raw PUTs to SeaweedFS failed"
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000))" >>"$tmp/s3-ingest-raw"

        log "S3 ingestion run $run: cadenza-admin ingest --jobs 4 onto three S3 volumes (R=3)"
        password=bench-$RANDOM-$RANDOM
        mapfile -t flags < <(s3_volumes "ingest-$run")
        CADENZA_ADMIN_PASSWORD=$password start_server "s3-ingest-$run" "$tmp/s3-ingest-data-$run" \
            --replication 3 "${flags[@]}"
        itoken=$(login "$server_url" "$password")
        t0=$(date +%s%N)
        CADENZA_SERVER=$server_url CADENZA_TOKEN=$itoken "$bin/cadenza-admin" ingest "$src" --jobs 4 \
            >"$tmp/s3-ingest-$run.log" 2>&1 || { tail -n 20 "$tmp/s3-ingest-$run.log" >&2; die "S3 ingestion failed"; }
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000))" >>"$tmp/s3-ingest-c"
        stop "$server_pid"
    done
    c_us=$(median <"$tmp/s3-ingest-c") r_us=$(median <"$tmp/s3-ingest-raw")
    ratio=$(calc "$r_us / $c_us" 2)
    row "ingest $s3_files files ($(calc "$bytes / 1000000" 0) MB) onto 3 S3 volumes, R=3: MB/s" \
        "$(calc "$bytes / $c_us" 1)" "$(calc "$bytes / $r_us" 1)" "${ratio}x" ">= 0.5x raw PUT" "$(verdict "$ratio" '>=' 0.5)"

    # b. streaming from S3 vs local volumes vs nginx
    [ -n "${song_file:-}" ] || make_song
    size=$(stat -c %s "$song_file")
    mapfile -t flags < <(s3_volumes stream)
    CADENZA_ADMIN_PASSWORD=s3-bench-password start_server s3-stream "$tmp/s3-stream-data" \
        --replication 3 "${flags[@]}"
    s3_pid=$server_pid s3_url=$server_url
    CADENZA_ADMIN_PASSWORD=s3-bench-password start_server local-stream "$tmp/local-stream-data"
    local_pid=$server_pid local_url=$server_url
    s3_token=$(login "$s3_url" s3-bench-password) local_token=$(login "$local_url" s3-bench-password)
    for side in s3 local; do
        url_var=${side}_url token_var=${side}_token
        CADENZA_SERVER=${!url_var} CADENZA_TOKEN=${!token_var} "$bin/cadenza-admin" ingest "$song_file" \
            --report "$tmp/$side-song.jsonl" >"$tmp/$side-song.log" 2>&1 ||
            { cat "$tmp/$side-song.log" >&2; die "ingesting the song onto $side volumes failed"; }
    done
    s3_song=$(sed -n 's/.*"song_id":\([0-9]*\).*/\1/p' "$tmp/s3-song.jsonl" | head -n 1)
    local_song=$(sed -n 's/.*"song_id":\([0-9]*\).*/\1/p' "$tmp/local-song.jsonl" | head -n 1)
    start_nginx
    cmp -s <(curl -sf "http://127.0.0.1:$port/song.wav") \
        <(curl -sf -H "Authorization: Bearer $s3_token" "$s3_url/api/v1/songs/$s3_song/stream") ||
        die "nginx and Cadenza on S3 do not serve the same bytes"
    conns=16
    for mode in full range; do
        range_env="" label="5 MB file"
        [ "$mode" = range ] && range_env=65536 label="64 KB ranges"
        log "streaming $label from S3, local volumes and nginx, $conns conn: $runs x ${seconds}s each"
        : >"$tmp/s3-c" && : >"$tmp/s3-l" && : >"$tmp/s3-n"
        for _ in $(seq 1 "$runs"); do
            BENCH_PATH=/api/v1/songs/$s3_song/stream BENCH_TOKEN=$s3_token BENCH_RANGE_BYTES=$range_env \
                BENCH_FILE_SIZE=$size wrk_run stream "$tmp/s3-c" -t2 -c"$conns" -d"${seconds}s" "$s3_url"
            BENCH_PATH=/api/v1/songs/$local_song/stream BENCH_TOKEN=$local_token BENCH_RANGE_BYTES=$range_env \
                BENCH_FILE_SIZE=$size wrk_run stream "$tmp/s3-l" -t2 -c"$conns" -d"${seconds}s" "$local_url"
            BENCH_PATH=/song.wav BENCH_TOKEN=$s3_token BENCH_RANGE_BYTES=$range_env BENCH_FILE_SIZE=$size \
                wrk_run stream "$tmp/s3-n" -t2 -c"$conns" -d"${seconds}s" "http://127.0.0.1:$port"
        done
        rps_s=$(per_second "$tmp/s3-c" requests | median)
        rps_l=$(per_second "$tmp/s3-l" requests | median)
        rps_n=$(per_second "$tmp/s3-n" requests | median)
        errors=$(sum_errors "$tmp/s3-c")
        ok="-"
        [ "$errors" = 0 ] || ok="MISS ($errors errors)"
        row "stream $label from S3 vs local volumes, $conns conn: req/s" "$(calc "$rps_s" 0)" "$(calc "$rps_l" 0)" "$(calc "$rps_s / $rps_l" 2)x" "-" "$ok"
        row "stream $label from S3 vs nginx, $conns conn: req/s" "$(calc "$rps_s" 0)" "$(calc "$rps_n" 0)" "$(calc "$rps_s / $rps_n" 2)x" "-" "-"
        latency_rows "stream $label from S3 vs nginx, $conns conn" "$tmp/s3-c" "$tmp/s3-n"
    done
    stop "$nginx_pid"

    # c. time to first byte of a song a fresh server never read (local volumes hash a replica
    # whole before its first byte; S3 replicas are hashed while they stream)
    : >"$tmp/ttfb-s3" && : >"$tmp/ttfb-local"
    for run in $(seq 1 "$runs"); do
        for side in s3 local; do
            pid_var=${side}_pid
            stop "${!pid_var}"
            if [ "$side" = s3 ]; then
                start_server s3-stream "$tmp/s3-stream-data" --replication 3 "${flags[@]}"
                s3_pid=$server_pid s3_url=$server_url song=$s3_song token_now=$s3_token
            else
                start_server local-stream "$tmp/local-stream-data"
                local_pid=$server_pid local_url=$server_url song=$local_song token_now=$local_token
            fi
            curl -sf -o /dev/null -w '%{time_starttransfer}\n' -H "Authorization: Bearer $token_now" \
                "$server_url/api/v1/songs/$song/stream" >>"$tmp/ttfb-$side" || die "cold read from $side failed"
        done
    done
    t_s3=$(calc "$(median <"$tmp/ttfb-s3") * 1000" 1)
    t_local=$(calc "$(median <"$tmp/ttfb-local") * 1000" 1)
    ratio=$(calc "$t_s3 / $t_local" 2)
    row "time to first byte, cold 5 MB song, S3 vs local (ms)" "$t_s3" "$t_local" "${ratio}x" "<= 2x local" "$(verdict "$ratio" '<=' 2)"
    stop "$s3_pid"
    stop "$local_pid"
    stop "$weed_pid"
fi

# ---------------------------------------------------------------- 9. the catalog in PostgreSQL
# The same catalog copied into a PostgreSQL primary with a streaming replica (the server's
# reads of the shared catalog go to the replica), against the SQLite server above. Commits
# are not flushed one by one (synchronous_commit=off), as SQLite's WAL with
# synchronous=NORMAL does not flush them either.
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_start() { # DIR PORT
    pg_as "$pg_bin/pg_ctl" -D "$1" -l "$1.log" -w -t 120 \
        -o "-c port=$2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$1 \
            -c wal_level=replica -c max_wal_senders=10 -c wal_keep_size=1GB \
            -c shared_buffers=512MB -c max_connections=200 -c synchronous_commit=off" \
        start >/dev/null || { cat "$1.log" >&2; die "postgres on port $2 did not start"; }
    pg_dirs+=("$1")
}
if wants postgres; then
    pg_bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
    [ -x "$pg_bin/initdb" ] || die "PostgreSQL is not installed; run scripts/setup.sh"
    pg=$tmp/pg
    mkdir -p "$pg"
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL runs as `postgres` (initdb refuses root): it needs its folder, and a
        # way through the private temporary folder to it.
        chown postgres "$pg"
        chmod o+x "$tmp"
    fi
    p1=$(free_port) p2=$(free_port)
    pg_as "$pg_bin/initdb" -D "$pg/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$pg/initdb.log" 2>&1 || { cat "$pg/initdb.log" >&2; die "initdb failed"; }
    pg_start "$pg/primary" "$p1"
    pg_as "$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "CREATE DATABASE cadenza" postgres
    pg_as "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$pg/replica" -R -X stream --checkpoint=fast \
        >"$pg/basebackup.log" 2>&1 || { cat "$pg/basebackup.log" >&2; die "pg_basebackup failed"; }
    pg_start "$pg/replica" "$p2"
    primary_url=postgres://postgres@127.0.0.1:$p1/cadenza replica_url=postgres://postgres@127.0.0.1:$p2/cadenza

    log "PostgreSQL: copying the $songs-song catalog from SQLite (cadenza-server catalog copy)"
    t0=$(date +%s%N)
    "$server_bin" catalog copy --from "sqlite:$catalog_data/catalog.sqlite" --to "$primary_url" \
        >"$tmp/pg-copy.log" 2>&1 || { tail -n 20 "$tmp/pg-copy.log" >&2; die "catalog copy failed"; }
    t1=$(date +%s%N)
    row "PostgreSQL: catalog copy of $songs songs from SQLite (s)" "$(calc "($t1 - $t0) / 1000000000" 1)" "-" "-" "-" "-"
    pg_as "$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "VACUUM ANALYZE" cadenza

    # The synthetic generator writing each backend itself (COPY into PostgreSQL), same
    # songs, users and plays; the generated database is dropped afterwards.
    gen_time() { # DIR [ARGS...] -> seconds
        local dir=$1 t0 t1
        shift
        t0=$(date +%s%N)
        "$bin/cadenza-fixtures" catalog --songs "$songs" --users 1000 --seed 1 --data-dir "$dir" \
            --tones 2 "$@" >"$dir.log" 2>&1 || { tail -n 20 "$dir.log" >&2; die "cadenza-fixtures catalog $* failed"; }
        t1=$(date +%s%N)
        rm -rf "$dir"
        calc "($t1 - $t0) / 1000000000" 1
    }
    log "PostgreSQL: the generator writing $songs songs into each backend"
    pg_as "$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "CREATE DATABASE cadenza_gen" postgres
    gen_pg=$(gen_time "$tmp/gen-pg" --catalog "postgres://postgres@127.0.0.1:$p1/cadenza_gen")
    gen_sqlite=$(gen_time "$tmp/gen-sqlite")
    pg_as "$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -qc "DROP DATABASE cadenza_gen" postgres
    row "PostgreSQL: generator, $songs songs, into PostgreSQL vs SQLite (s)" "$gen_pg" "$gen_sqlite" \
        "$(calc "$gen_pg / $gen_sqlite" 2)x" "< 60 s" "$(verdict "$gen_pg" '<' 60)"

    # The SQLite side: the main server, again if the benchmarks before stopped it.
    if [ -z "${main_pid:-}" ] || ! kill -0 "$main_pid" 2>/dev/null; then
        start_server main "$catalog_data"
        main_pid=$server_pid main_url=$server_url
        token=$(login "$main_url" password)
    fi
    start_server pg "$catalog_data" --catalog "$primary_url" --catalog-replica "$replica_url"
    pg_pid=$server_pid pg_url=$server_url
    ptoken=$(login "$pg_url" password)
    [ -n "$ptoken" ] || die "cannot log in to the PostgreSQL server as admin"

    # Search needs the query paths and SQLite's figures from this run: when the search
    # benchmark did not run (BENCH_ONLY=postgres), they are made here.
    [ -s "$tmp/paths.txt" ] ||
        "$bench" queries --db "$catalog_data/catalog.sqlite" --count 1000 --paths 20 >"$tmp/paths.txt"
    if [ ! -s "$tmp/search-1" ]; then
        log "search over HTTP on SQLite: wrk -c1, $runs x ${seconds}s"
        search_runs "$tmp/search-1" "$token" "$main_url" 1
    fi
    if [ -s "$tmp/paths.txt" ]; then
        log "search over HTTP on PostgreSQL: wrk -c1, $runs x ${seconds}s"
        search_runs "$tmp/pg-search-1" "$ptoken" "$pg_url" 1
        for p in p50 p99; do
            pgv=$(calc "$(column_of "$tmp/pg-search-1" ${p}_us | median) / 1000" 2)
            sqv=$(calc "$(column_of "$tmp/search-1" ${p}_us | median) / 1000" 2)
            ratio=$(calc "$pgv / $sqv" 2)
            if [ "$p" = p50 ]; then
                row "search over HTTP, 1 conn, $p (ms): PostgreSQL vs SQLite" "$pgv" "$sqv" "${ratio}x" "<= 2x SQLite" "$(verdict "$ratio" '<=' 2)"
            else
                row "search over HTTP, 1 conn, $p (ms): PostgreSQL vs SQLite" "$pgv" "$sqv" "${ratio}x" "< 15 ms" "$(verdict "$pgv" '<' 15)"
            fi
        done
    fi

    # Writes at 16 connections on both servers: play reports, then playlist edits (16
    # playlists of 20 tracks, each edit moves a track).
    playlists_of() { # URL TOKEN -> comma-separated ids of 16 new playlists of 20 tracks
        local ids=() i id
        for i in $(seq 1 16); do
            id=$(curl -sf -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
                -d "{\"name\":\"bench $i\",\"public\":false}" "$1/api/v1/playlists" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
            curl -sf -o /dev/null -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
                -d "{\"song_ids\":[$(seq -s, $((i * 20 + 1)) $((i * 20 + 20)))]}" "$1/api/v1/playlists/$id/tracks"
            ids+=("$id")
        done
        local IFS=,
        echo "${ids[*]}"
    }
    for kind in plays playlists; do
        for side in sqlite pg; do
            if [ "$side" = pg ]; then url=$pg_url tok=$ptoken; else url=$main_url tok=$token; fi
            lists=""
            [ "$kind" = playlists ] && lists=$(playlists_of "$url" "$tok")
            log "writes ($kind) on $side: wrk -c16, $runs x ${seconds}s"
            : >"$tmp/writes-$kind-$side"
            if [ "$side" = pg ] && [ "$kind" = plays ]; then
                # Replica lag under this load, from /readyz twice a second.
                (while [ ! -e "$tmp/lag-stop" ]; do
                    { curl -sf "$pg_url/readyz"; echo; } | sed -n 's/.*"role":"replica","up":true,"lag_seconds":\([0-9.e+-]*\).*/\1/p'
                    sleep 0.5
                done) >"$tmp/lag" &
                sampler=$!
            fi
            for _ in $(seq 1 "$runs"); do
                BENCH_TOKEN=$tok BENCH_WRITE=$kind BENCH_SONGS=$songs BENCH_PLAYLISTS=$lists \
                    wrk_run writes "$tmp/writes-$kind-$side" -t2 -c16 -d"${seconds}s" "$url"
            done
            if [ "$side" = pg ] && [ "$kind" = plays ]; then
                touch "$tmp/lag-stop"
                wait "$sampler" || true
                # The replica replays the backlog of this load after it ends; the next
                # benchmark starts once it is within half a second (or after 5 minutes), so
                # it does not pay for this one.
                t0=$(date +%s%N)
                for _ in $(seq 1 600); do
                    lag=$({ curl -sf "$pg_url/readyz"; echo; } |
                        sed -n 's/.*"role":"replica","up":true,"lag_seconds":\([0-9.e+-]*\).*/\1/p')
                    [ -n "$lag" ] && [ "$(calc "$lag < 0.5" 0)" = 1 ] && break
                    sleep 0.5
                done
                t1=$(date +%s%N)
                catch_up=$(calc "($t1 - $t0) / 1000000000" 1)
            fi
        done
        pgr=$(per_second "$tmp/writes-$kind-pg" requests | median)
        sqr=$(per_second "$tmp/writes-$kind-sqlite" requests | median)
        errors=$(($(sum_errors "$tmp/writes-$kind-pg") + $(sum_errors "$tmp/writes-$kind-sqlite")))
        ratio=$(calc "$pgr / $sqr" 2)
        label=$([ "$kind" = plays ] && echo "play reports" || echo "playlist edits")
        row "$label/s at 16 conn: PostgreSQL vs SQLite (errors)" "$(calc "$pgr" 0) ($errors)" "$(calc "$sqr" 0)" "${ratio}x" ">= 1x SQLite" "$(verdict "$ratio" '>=' 1)"
    done
    max_lag=$(sort -g "$tmp/lag" | tail -n 1)
    row "replica lag under the play-report load, max of /readyz samples (s)" "${max_lag:-nan}" "-" "-" "< 5 (max_replica_lag)" "$(verdict "${max_lag:-nan}" '<' 5)"
    row "replica catching up after the play-report load (s)" "${catch_up:-nan}" "-" "-" "-" "-"
    stop "$pg_pid"
    stop "$main_pid"
fi

# ---------------------------------------------------------------- 10. the cluster: edge vs direct
# scripts/cluster.sh on a copy of the catalog: three SeaweedFS servers, three cadenza-servers
# on them behind the nginx edge, CDN mode.
# Streaming: a CDN hit at the edge vs nginx serving the file vs one server answering the same
# signed link itself. A cold song fetched by 100 listeners at once, with the requests that
# reached the servers counted from their /metrics. Search and browse through the edge vs
# straight to one server.
if wants cluster; then
    log "cluster: scripts/cluster.sh up on a copy of the $songs-song catalog"
    cluster_dir=$tmp/cluster
    # On the SQLite catalog, as when these rows were first measured: this section compares
    # the edge with one server, not the catalogs (section 9 does that).
    cluster() {
        CLUSTER_DIR=$cluster_dir CLUSTER_BIN_DIR=$bin CLUSTER_PORT=0 CLUSTER_FIXTURES=0 \
            CLUSTER_CATALOG=sqlite scripts/cluster.sh "$@"
    }
    edge_url=$(cluster up 2>"$tmp/cluster-up.log") ||
        { cat "$tmp/cluster-up.log" >&2; die "scripts/cluster.sh up failed"; }
    web1_url=http://127.0.0.1:$(sed -n 's/^web1=//p' "$cluster_dir/ports")
    ctoken=$(login "$edge_url" password)
    [ -n "$ctoken" ] || die "cannot log in to the cluster as admin"
    # ingest_song FILE: its id, ingested through the edge.
    ingest_song() {
        CADENZA_SERVER=$edge_url CADENZA_TOKEN=$ctoken "$bin/cadenza-admin" ingest "$1" \
            --report "$tmp/cluster-ingest.jsonl" >"$tmp/cluster-ingest.log" 2>&1 ||
            { cat "$tmp/cluster-ingest.log" >&2; die "ingesting $1 into the cluster failed"; }
        sed -n 's/.*"song_id":\([0-9]*\).*/\1/p' "$tmp/cluster-ingest.jsonl" | tail -n 1
    }
    # cdn_link ID: the signed /cdn/blobs/HASH?e=&s= link the edge redirects a stream to.
    cdn_link() {
        curl -s -o /dev/null -w '%{redirect_url}' -H "Authorization: Bearer $ctoken" \
            "$edge_url/api/v1/songs/$1/stream" | sed "s|^$edge_url||"
    }
    # origin_cdn_requests: requests for signed links the three servers answered so far.
    origin_cdn_requests() {
        local s total=0 n
        for s in web1 web2 web3; do
            n=$(curl -sf "http://127.0.0.1:$(sed -n "s/^$s=//p" "$cluster_dir/ports")/metrics" |
                awk '/^cadenza_http_requests_total\{.*route="\/cdn\/blobs\/\{hash\}"/ { n += $2 } END { print n + 0 }')
            total=$((total + n))
        done
        echo "$total"
    }
    csong=$(ingest_song "$song_file")
    link=$(cdn_link "$csong")
    [[ "$link" == /cdn/blobs/* ]] || die "the cluster did not redirect to a CDN link (got '$link')"
    cmp -s "$song_file" <(curl -sf "$edge_url$link") || die "the edge does not serve the song's bytes"
    curl -sf -D - -o /dev/null "$edge_url$link" | grep -qi '^x-cadenza-edge-cache: HIT' ||
        die "the second fetch of $link was not a cache hit"
    start_nginx

    for mode in full range; do
        for conns in 16 256; do
            range_env="" label="5 MB file"
            [ "$mode" = range ] && range_env=65536 label="64 KB ranges"
            log "cluster: $label, $conns conn: edge (CDN hit), nginx file, one server; $runs x ${seconds}s each"
            : >"$tmp/cl-edge" && : >"$tmp/cl-nginx" && : >"$tmp/cl-web1"
            for _ in $(seq 1 "$runs"); do
                link=$(cdn_link "$csong")
                for side in edge nginx web1; do
                    case $side in
                        edge) url=$edge_url path=$link ;;
                        nginx) url=http://127.0.0.1:$port path=/song.wav ;;
                        web1) url=$web1_url path=$link ;;
                    esac
                    BENCH_PATH=$path BENCH_RANGE_BYTES=$range_env BENCH_FILE_SIZE=$size \
                        wrk_run stream "$tmp/cl-$side" -t2 -c"$conns" -d"${seconds}s" "$url"
                done
            done
            n_rps=$(per_second "$tmp/cl-nginx" requests | median)
            for side in edge web1; do
                rps=$(per_second "$tmp/cl-$side" requests | median)
                errors=$(sum_errors "$tmp/cl-$side")
                ratio=$(calc "$rps / $n_rps" 2)
                if [ "$side" = edge ]; then
                    name="edge CDN hit" target=">= 0.9x nginx" ok=$(verdict "$ratio" '>=' 0.9)
                else
                    name="one server, same link" target="-" ok="-"
                fi
                [ "$errors" = 0 ] || ok="MISS ($errors errors)"
                row "cluster: $name, $label, $conns conn: req/s" "$(calc "$rps" 0)" "$(calc "$n_rps" 0)" "${ratio}x" "$target" "$ok"
            done
        done
    done
    stop "$nginx_pid"
    nginx_pid=""

    log "cluster: a cold song, 100 listeners at once"
    "$bin/cadenza-fixtures" audio --count 1 --seconds "$(calc "($size - 44) / 88200" 4)" --seed 7 \
        --out "$tmp/cold-src" >/dev/null
    cold_file=$(find "$tmp/cold-src" -type f -name '*.wav' | head -n 1)
    cold=$(ingest_song "$cold_file")
    slices=$(( ($(stat -c %s "$cold_file") + 1048575) / 1048576 ))
    before=$(origin_cdn_requests)
    ok_fetches=$(seq 1 100 | xargs -P 100 -I{} curl -sL -o /dev/null -w '%{http_code}\n' \
        -H "Authorization: Bearer $ctoken" "$edge_url/api/v1/songs/$cold/stream" | grep -c '^200$' || true)
    origin=$(( $(origin_cdn_requests) - before ))
    ok=$(verdict "$origin" '<=' "$slices")
    [ "$ok_fetches" = 100 ] || ok="MISS ($((100 - ok_fetches)) failed)"
    row "cluster: cold 5 MB song, 100 listeners at once: requests reaching servers" "$origin" "$slices slices" "-" "one per slice" "$ok"

    [ -f "$tmp/paths.txt" ] || "$bench" queries --db "$catalog_data/catalog.sqlite" --count 1000 --paths 20 >"$tmp/paths.txt"
    awk 'BEGIN { srand(11); for (i = 0; i < 500; i++) {
            o = int(rand() * 5000); k = i % 3
            if (k == 0) print "/api/v1/songs?limit=50&offset=" o
            else if (k == 1) print "/api/v1/albums?limit=50&offset=" o
            else print "/api/v1/artists?limit=50&offset=" o } }' >"$tmp/browse-paths.txt"
    for kind in search browse; do
        paths=$tmp/paths.txt
        [ "$kind" = browse ] && paths=$tmp/browse-paths.txt
        log "cluster: $kind through the edge vs one server, 16 conn, $runs x ${seconds}s each"
        : >"$tmp/cl-$kind-edge" && : >"$tmp/cl-$kind-web1"
        for _ in $(seq 1 "$runs"); do
            BENCH_PATHS=$paths BENCH_TOKEN=$ctoken wrk_run search "$tmp/cl-$kind-edge" -t2 -c16 -d"${seconds}s" "$edge_url"
            BENCH_PATHS=$paths BENCH_TOKEN=$ctoken wrk_run search "$tmp/cl-$kind-web1" -t2 -c16 -d"${seconds}s" "$web1_url"
        done
        e_rps=$(per_second "$tmp/cl-$kind-edge" requests | median)
        d_rps=$(per_second "$tmp/cl-$kind-web1" requests | median)
        e_p50=$(calc "$(column_of "$tmp/cl-$kind-edge" p50_us | median) / 1000" 2)
        d_p50=$(calc "$(column_of "$tmp/cl-$kind-web1" p50_us | median) / 1000" 2)
        errors=$(sum_errors "$tmp/cl-$kind-edge")
        ok="-"
        [ "$errors" = 0 ] || ok="MISS ($errors errors)"
        row "cluster: $kind via edge (3 servers) vs one server, 16 conn: req/s" "$(calc "$e_rps" 0)" "$(calc "$d_rps" 0)" "$(calc "$e_rps / $d_rps" 2)x" "-" "$ok"
        row "cluster: $kind via edge vs one server, 16 conn: p50 (ms)" "$e_p50" "$d_p50" "+$(calc "$e_p50 - $d_p50" 2) ms" "-" "-"
    done
    cluster down 2>>"$tmp/cluster-up.log"
    cluster_dir=""
fi

# ---------------------------------------------------------------- the table
header=$'benchmark\tCadenza\tbaseline\tratio\ttarget\tresult'
echo
echo "Cadenza benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), runs=$runs x ${seconds}s$([ "$quick" = 1 ] && echo ', QUICK')$([ -n "${BENCH_SERVER:-}" ] && echo ", server $BENCH_SERVER")$([ -n "${BENCH_HELPER:-}" ] && echo ", helper $BENCH_HELPER")"
{ echo "$header"; cat "$rows"; } | awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= 6; i++) line = line sprintf("%-" w[i] + 2 "s", cell[r, i]); sub(/ +$/, "", line); print line } }'
mkdir -p "$(dirname "$out_md")"
{
    echo "| benchmark | Cadenza | baseline | ratio | target | result |"
    echo "|---|---|---|---|---|---|"
    sed 's/|/\\|/g; s/\t/ | /g; s/^/| /; s/$/ |/' "$rows"
} >"$out_md"
log "table written to $out_md"
