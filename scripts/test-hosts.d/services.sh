# Sourced by scripts/test-hosts: the per-set services on the set's bridge address, the apt proxy (apt-cacher-ng)
# and the log host (rsyslogd over TLS). Uses the variables scripts/test-hosts defines (STATE, NAME, GW, SUITE,
# CACHE_ROOT, ACNG_PORT, LOG_PORT, POOL_STORE).
# shellcheck shell=bash

# ---------- apt-cacher-ng (one per set: it binds to the set's bridge address) ----------
acng_pid() {
  local f="$STATE/acng/apt-cacher-ng.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

start_acng() {
  acng_pid >/dev/null && return
  local conf="$STATE/acng/conf" cache="$CACHE_ROOT/acng/$NAME"
  mkdir -p "$conf" "$cache" "$STATE/acng/log"
  seed_acng_cache "$cache"
  chown -R apt-cacher-ng: "$cache" "$STATE/acng" 2>/dev/null || true
  cat >"$conf/acng.conf" <<EOF
CacheDir: $cache
LogDir: $STATE/acng/log
Port: $ACNG_PORT
BindAddress: $GW
PidFile: $STATE/acng/apt-cacher-ng.pid
SocketPath: $STATE/acng/socket
Remap-debrep: file:deb_mirror*.gz /debian ; http://deb.debian.org/debian/
Remap-secdeb: security.debian.org deb.debian.org/debian-security /debian-security ; http://deb.debian.org/debian-security/
ReportPage: acng-report.html
ExThreshold: 30
PassThroughPattern: ^$
VfilePatternEx: ^/\?release=[0-9]+&arch=
# apt-cacher-ng 3.7 fetches a release file again from Debian for every client that asks (FreshIndexMaxAge: 600
# did not change that: 20-24 upstream fetches per round of 8 hosts' apt-get update), moving the old copy aside
# as InRelease.<unix second>; two fetches in the same second collide on that name ("Failure to move file ...
# out of the way ... File exists") and that client's request hangs (2 hangs of 300 s in 6 rounds). So the
# release files are static for the set's life: removed below when the proxy starts, fetched once by
# warm_indexes, then served as they are (0 upstream fetches and no hang in 15 rounds); every host of the set
# also sees the same archive state.
SPfilePatternEx: /dists/[^/]+/InRelease$
EOF
  ln -sf /usr/lib/apt-cacher-ng/deb_mirrors.gz "$conf/deb_mirrors.gz" 2>/dev/null || true
  # Static release files (SPfilePatternEx above) would otherwise be kept across sets and grow stale.
  rm -f "$cache"/{debrep,secdeb}/dists/*/InRelease{,.head}
  /usr/sbin/apt-cacher-ng -c "$conf" ForeGround=0 >"$STATE/acng/log/start.log" 2>&1 8>&- 9>&- \
    || die "apt-cacher-ng did not start, see $STATE/acng/log/"
  wait_listening acng_pid "$ACNG_PORT" "apt-cacher-ng did not listen on $GW:$ACNG_PORT, see $STATE/acng/log/"
}

# wait_listening PID_FUNCTION PORT MESSAGE: up to 5 s for a daemon that started to accept on $GW:PORT, else die.
wait_listening() {
  local i
  for i in $(seq 50); do
    "$1" >/dev/null && (exec 3<>"/dev/tcp/$GW/$2") 2>/dev/null && return
    sleep 0.1
  done
  die "$3"
}

# One client fetches the release files the hosts will ask for (the mirror URLs the baseline role writes and
# the proxied ones of the image), and the package lists they name, before any host does (see SPfilePatternEx
# above): the hosts' apt runs then only read the proxy's cache, all at once if they like.
warm_indexes() {
  local d u sha
  for d in "debian/dists/$SUITE" "debian/dists/$SUITE-updates" "debian-security/dists/$SUITE-security"; do
    u="http://$GW:$ACNG_PORT/$d"
    # apt asks for Packages.xz by its hash (Acquire-By-Hash) as the release file lists it. awk reads to the end:
    # leaving early would cut curl's pipe and fail the whole fetch (curl exit 23).
    sha="$(curl -fsS --max-time 60 "$u/InRelease" | awk '
      /^SHA256:/ {s = 1; next} /^[^ ]/ {s = 0}
      s && $3 == "main/binary-amd64/Packages.xz" && !found {print $1; found = 1}')" \
      || { log "could not pre-fetch $d/InRelease (hosts will fetch it)"; continue; }
    [[ -n "$sha" ]] && { curl -fsS --max-time 120 -o /dev/null "$u/main/binary-amd64/by-hash/SHA256/$sha" \
      || log "could not pre-fetch the package list of $d (hosts will fetch it)"; }
  done
}

# ---------- the log host (one per set: a real rsyslogd receiving syslog over TLS on the set's bridge address) ----------
LOG_PORT=6514
log_peer() { echo "logs.$NAME.test"; }
logd_pid() {
  local f="$STATE/logs/rsyslogd.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

# A CA made on this machine for the set, and the log host's certificate naming log_peer; kept while the set
# lives, so a re-run 'up' keeps the CA the hosts already trust.
make_log_pki() {
  local d="$STATE/logs/pki"
  [[ -s "$d/server.pem" ]] && return
  mkdir -p "$d"; chmod 0700 "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=shuyaku test-hosts $NAME CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$(log_peer)" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$(log_peer)" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
}

start_logd() {
  logd_pid >/dev/null && return
  make_log_pki
  local d="$STATE/logs"
  mkdir -p "$d/work"
  # No imuxsock/imklog: this instance reads only the network, never this machine's own logs.
  cat >"$d/rsyslogd.conf" <<EOF
global(workDirectory="$d/work"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="$d/pki/ca.pem"
       DefaultNetstreamDriverCertFile="$d/pki/server.pem"
       DefaultNetstreamDriverKeyFile="$d/pki/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" address="$GW" port="$LOG_PORT")
*.* action(type="omfile" file="$d/received.log" template="RSYSLOG_FileFormat")
EOF
  /usr/sbin/rsyslogd -f "$d/rsyslogd.conf" -i "$d/rsyslogd.pid" >"$d/start.log" 2>&1 8>&- 9>&- \
    || die "rsyslogd did not start, see $d/start.log"
  wait_listening logd_pid "$LOG_PORT" "the log host did not listen on $GW:$LOG_PORT, see $d/start.log"
}

stop_logd() {
  stop_daemon logd_pid
}

# Every set keeps its own apt-cacher-ng cache (two daemons must not share one), but packages are
# immutable (the version is in the file name), so complete ones are hard-linked into one shared store when
# a set goes down and from it into a set's cache when it comes up: a new set name starts warm.
POOL_STORE="$CACHE_ROOT/acng/shared-pool"

seed_acng_cache() {
  local cache="$1" repo
  for repo in debrep secdeb; do
    [[ -d "$POOL_STORE/$repo/pool" ]] || continue
    mkdir -p "$cache/$repo"
    cp -aln "$POOL_STORE/$repo/pool" "$cache/$repo/" 2>/dev/null || true
  done
}

give_back_packages() {
  local cache="$1" deb head want have rel
  [[ -d "$cache" ]] || return 0
  while IFS= read -r -d '' deb; do
    head="$deb.head"
    [[ -f "$head" ]] || continue
    want="$(tr -d '\r' <"$head" | awk -F': ' 'tolower($1) == "content-length" {print $2; exit}')"
    have="$(stat -c %s "$deb")"
    [[ -n "$want" && "$want" == "$have" ]] || continue   # only complete downloads
    rel="${deb#"$cache"/}"
    [[ -e "$POOL_STORE/$rel" ]] && continue
    mkdir -p "$(dirname "$POOL_STORE/$rel")"
    ln "$deb" "$POOL_STORE/$rel" 2>/dev/null && ln "$head" "$POOL_STORE/$rel.head" 2>/dev/null || true
  done < <(find "$cache/debrep/pool" "$cache/secdeb/pool" -name '*.deb' -print0 2>/dev/null)
}

# stop_daemon PID_FUNCTION: TERM, up to 5 s to exit, then KILL.
stop_daemon() {
  local pid
  pid="$("$1")" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

stop_acng() {
  stop_daemon acng_pid
}
