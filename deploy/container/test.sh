#!/usr/bin/env bash
# Builds the switchboard image on this machine and starts it: the container
# path of issue 14, item 3, checked end to end rather than only validated.
#
#   bash deploy/container/test.sh          # as root, from any folder
#
# What it does, from a clean Debian bookworm host:
#   1. installs podman, runc, netavark, aardvark-dns, iptables, debootstrap,
#      slirp4netns, curl and the PostgreSQL client from Debian packages when
#      missing;
#   2. makes a base image from Debian packages (debootstrap --variant=minbase
#      bookworm + ca-certificates, `podman import`), because no image registry
#      may be reachable; cached as an image and as a tarball under
#      target/container/, so a second run skips it;
#   3. finds podman flags that can run a container here (this sandbox needs
#      some: see "can podman run a container here?" below) and fails fast,
#      saying so, if none can;
#   4. builds the release binary on the host and the image from
#      Containerfile.local (same runtime layout as Dockerfile, checked);
#   5. runs the image: `check`, `demo --once`, `migrate`, `run` with /healthz
#      and /readyz on a published port against the host's PostgreSQL and
#      RabbitMQ, a second replica on the same database with --network host
#      and Kubernetes' lockdown, a third whose broker is out of reach (alive,
#      not ready), and a SIGTERM stop timed against the grace period;
#   6. prints PASS/FAIL per check and exits non-zero if any check failed.
#
# Too slow for CI (a cold run debootstraps and compiles): nothing in .ci/run
# calls it. Results are recorded in deploy/README.md.
#
# Settings (environment):
#   IMAGE        image to build           (localhost/switchboard:local)
#   BASE_IMAGE   local base image         (localhost/switchboard-base:bookworm)
#   CACHE_DIR    base tarball, context    (target/container)
#   HTTP_PORT    host port for /healthz   (18080; 18081 for the second replica)
#   PG_ADMIN_URL host PostgreSQL, trust   (postgres://postgres@127.0.0.1:5432)
#   AMQP_URL     host RabbitMQ            (amqp://guest:guest@127.0.0.1:5672/%2f)
#   GRACE_SECS   SIGTERM grace given      (30)
#   NO_INSTALL=1 never call apt-get
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
IMAGE=${IMAGE:-localhost/switchboard:local}
BASE_IMAGE=${BASE_IMAGE:-localhost/switchboard-base:bookworm}
CACHE_DIR=${CACHE_DIR:-$ROOT/target/container}
HTTP_PORT=${HTTP_PORT:-18080}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
GRACE_SECS=${GRACE_SECS:-30}
TEST_DB=switchboard_container_test
CONFIG=/etc/switchboard/switchboard.toml
# Containers this run starts; removed on exit whatever happens.
NAME_A=switchboard-test-a
NAME_B=switchboard-test-b

declare -a RESULTS=()
FAILED=0
T0=$(date +%s)

say() { printf '== %s\n' "$*"; }
# record NAME PASS|FAIL|SKIP DETAIL
record() {
    RESULTS+=("$(printf '%-4s  %-34s %s' "$2" "$1" "$3")")
    [ "$2" = FAIL ] && FAILED=$((FAILED + 1))
    printf '   %s: %s %s\n' "$2" "$1" "$3"
}
die() {
    printf 'FAIL: %s\n' "$*" >&2
    record "setup" FAIL "$*"
    summary
    exit 1
}
elapsed() { echo $(($(date +%s) - $1)); }

cleanup() {
    for n in "$NAME_A" "$NAME_B" "${NAME_B%-b}-c"; do
        "${PODMAN[@]}" rm -f -t 0 "$n" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

summary() {
    echo
    echo "================ container test summary ================"
    echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    [ -n "${PODMAN_DESC:-}" ] && echo "podman:  $PODMAN_DESC"
    [ -n "${IMAGE_SIZE:-}" ] && echo "image:   $IMAGE, $IMAGE_SIZE"
    printf '%s\n' "${RESULTS[@]}"
    echo "total:   $(elapsed "$T0") s"
    if [ "$FAILED" -eq 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL ($FAILED check(s) failed)"; fi
}

# --- 0. the two build files must not drift ---------------------------------
block() { sed -n '/^# >>> shared runtime layout/,/^# <<< shared runtime layout/p' "$1"; }
if [ -n "$(block deploy/container/Dockerfile)" ] &&
    diff -u <(block deploy/container/Dockerfile) <(block deploy/container/Containerfile.local); then
    record "Dockerfile = Containerfile.local" PASS "(shared runtime layout identical)"
else
    record "Dockerfile = Containerfile.local" FAIL "(the shared runtime blocks differ or are missing)"
fi

# --- 1. tools from Debian packages -----------------------------------------
say "tools"
mkdir -p "$CACHE_DIR"
need=()
for pair in podman:podman runc:runc debootstrap:debootstrap slirp4netns:slirp4netns \
    curl:curl psql:postgresql-client iptables:iptables; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
# Not on PATH: podman finds it under /usr/lib/podman.
dpkg -s netavark aardvark-dns >/dev/null 2>&1 || need+=(netavark aardvark-dns)
if [ ${#need[@]} -gt 0 ]; then
    [ "${NO_INSTALL:-0}" = 1 ] && die "missing: ${need[*]} (NO_INSTALL=1)"
    [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}; run as root or install them first"
    say "apt-get install ${need[*]}"
    t=$(date +%s)
    # netavark + aardvark-dns rather than CNI: compose services find each
    # other by name only with aardvark-dns (deploy/compose/README.md).
    # netavark runs iptables for every bridge network, the default one too,
    # and no package pulls it in ("netavark: No such file or directory").
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${need[@]}" uidmap netavark aardvark-dns iptables; } >"$CACHE_DIR/apt.log" 2>&1 ||
        die "apt-get install failed, see $CACHE_DIR/apt.log"
    record "install ${need[*]}" PASS "($(elapsed "$t") s)"
fi
echo "   $(podman --version), $(runc --version | head -1)"

# Recorded, not required: this script never pulls.
if curl -fsS -m 5 -o /dev/null https://registry-1.docker.io/v2/ 2>/dev/null ||
    curl -sS -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null | grep -q 401; then
    echo "   docker.io reachable (Dockerfile would build too); building the local path anyway"
else
    echo "   no image registry reachable (docker.io): local base image from Debian packages"
fi

# --- 2. base image from Debian packages -------------------------------------
say "base image $BASE_IMAGE"
PODMAN=(podman)
BASE_TAR=$CACHE_DIR/base-bookworm.tar
make_base_tar() {
    local rootfs=$CACHE_DIR/rootfs t
    t=$(date +%s)
    rm -rf "$rootfs"
    # minbase is what debian:bookworm-slim is made of; ca-certificates because
    # rustls checks vendor APIs against the system trust store.
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" \
        http://deb.debian.org/debian >"$CACHE_DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed, see $CACHE_DIR/debootstrap.log"
    # What the slim image leaves out too: package caches, docs, man pages.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar --numeric-owner -C "$rootfs" -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$rootfs"
    record "debootstrap bookworm minbase" PASS "($(elapsed "$t") s, tarball $(du -h "$BASE_TAR" | cut -f1))"
}
import_base() {
    "${PODMAN[@]}" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' "$BASE_TAR" "$BASE_IMAGE" >/dev/null ||
        die "podman import of $BASE_TAR failed"
}
if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
    record "base image" PASS "(cached: $BASE_IMAGE)"
else
    [ -f "$BASE_TAR" ] || make_base_tar
    t=$(date +%s)
    import_base
    record "base image" PASS "(imported $BASE_TAR in $(elapsed "$t") s)"
fi

# --- 3. can podman run a container here? -----------------------------------
say "podman runtime"
# A container cannot raise its limits above its parent's hard limits without
# CAP_SYS_RESOURCE, which some sandboxes withhold, while podman as root asks
# for more by default: ask for the host's hard limits instead, and at most
# 32768 processes, the limit podman 4.3 gives conmon (the container's parent).
lim() { local v; v=$(ulimit -H "$1"); [ "$v" = unlimited ] && v=${2:--1}; [ -n "${2:-}" ] && [ "$v" -gt "$2" ] && v=$2; echo "$v:$v"; }
ULIMITS=(--ulimit "nofile=$(lim -n)" --ulimit "nproc=$(lim -u 32768)")
VFS_ROOT=$CACHE_DIR/storage-vfs
# Tried in order; the first that runs `true` in the base image wins.
# crun refuses hybrid cgroup v1/v2 hosts ("cgroups in hybrid mode not
# supported"), runc accepts them; only crun can run without cgroups at all.
# vfs storage is the last resort when overlay cannot mount (it lives in its
# own root, so the base is imported there again).
LADDER=(
    "||"
    "||ulimits"
    "--runtime runc||ulimits"
    "--runtime runc --cgroup-manager cgroupfs||ulimits"
    "--runtime crun --cgroup-manager cgroupfs||ulimits --cgroups disabled"
    "--runtime runc --cgroup-manager cgroupfs --storage-driver vfs --root $VFS_ROOT|vfs|ulimits"
)
RUN_FLAGS=()
chosen=
for rung in "${LADDER[@]}"; do
    IFS='|' read -r global storage runspec <<<"$rung"
    # shellcheck disable=SC2206 # the rungs are word lists on purpose
    PODMAN=(podman $global)
    flags=()
    for w in $runspec; do
        if [ "$w" = ulimits ]; then flags+=("${ULIMITS[@]}"); else flags+=("$w"); fi
    done
    if [ "$storage" = vfs ] && ! "${PODMAN[@]}" image exists "$BASE_IMAGE" 2>/dev/null; then
        [ -f "$BASE_TAR" ] || make_base_tar
        import_base
    fi
    if out=$("${PODMAN[@]}" run --rm "${flags[@]}" "$BASE_IMAGE" /bin/true 2>&1); then
        RUN_FLAGS=("${flags[@]}")
        chosen="podman ${global:-(defaults)} run ${flags[*]}"
        break
    fi
    echo "   not with: podman ${global:-(defaults)} run ${flags[*]}: $(tail -1 <<<"$out")"
done
[ -n "$chosen" ] || die "podman cannot run a container in this sandbox with any of the flags tried (see above)"
PODMAN_DESC="$(podman --version | cut -d' ' -f3), flags: ${chosen#podman }"
record "podman runs a container" PASS "($chosen)"

# --- 4. binary and image ------------------------------------------------------
say "release binary"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] ||
    echo "   warning: host is ${VERSION_CODENAME:-unknown}, not bookworm: the binary may need a newer glibc than the base has"
t=$(date +%s)
if cargo build --release --locked >"$CACHE_DIR/cargo.log" 2>&1; then
    record "cargo build --release --locked" PASS "($(elapsed "$t") s)"
else
    tail -20 "$CACHE_DIR/cargo.log"
    die "cargo build failed, see $CACHE_DIR/cargo.log"
fi

say "image $IMAGE"
# A small context in the repository's own layout: the whole tree (target/ is
# gigabytes) would be walked and copied for one binary.
CTX=$CACHE_DIR/context
rm -rf "$CTX" && mkdir -p "$CTX/target/release" "$CTX/deploy/container"
cp -r connectors mappings routing.toml services.toml "$CTX/"
cp deploy/container/switchboard.toml "$CTX/deploy/container/"
cp target/release/switchboard "$CTX/target/release/"
build() {
    "${PODMAN[@]}" build "$@" "${ULIMITS[@]}" -f deploy/container/Containerfile.local \
        --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" "$CTX" >"$CACHE_DIR/build.log" 2>&1
}
t=$(date +%s)
if build || { echo "   build failed with OCI isolation, trying --isolation chroot"; build --isolation chroot; }; then
    IMAGE_SIZE=$("${PODMAN[@]}" image ls --format '{{.Size}}' "$IMAGE" | head -1)
    record "podman build Containerfile.local" PASS "($(elapsed "$t") s, $IMAGE_SIZE)"
else
    tail -20 "$CACHE_DIR/build.log"
    die "podman build failed, see $CACHE_DIR/build.log"
fi

# --- 5. the image at work ------------------------------------------------------
run() { "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$@"; }

say "identity and config"
if out=$(run --entrypoint id "$IMAGE" 2>&1) && grep -q 'uid=10001' <<<"$out"; then
    record "runs as uid 10001" PASS "($out)"
else
    record "runs as uid 10001" FAIL "($out)"
fi
# `run` refuses to start while an enabled connector's env: secret is unset
# (ServiceNow's, as shipped); any value will do here. `check` needs none.
SECRETS=(-e SERVICENOW_USERNAME=check -e SERVICENOW_PASSWORD=check)
if out=$(run "$IMAGE" check --config "$CONFIG" 2>&1); then
    record "check --config $CONFIG" PASS "($(tail -1 <<<"$out" | cut -c1-100))"
else
    echo "$out" | tail -5
    record "check --config $CONFIG" FAIL "(exit non-zero)"
fi

say "demo --once"
t=$(date +%s)
# The working directory /var/lib/switchboard is the image's only writable
# folder: demo's SQLite file goes there. --config gives it the manifests.
if out=$(timeout 600 "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" demo --once --config "$CONFIG" 2>&1); then
    echo "$out" | grep -E '^(synced|FAILED|simulated)|total|journey' | head -30 | sed 's/^/   | /'
    record "demo --once in the image" PASS "($(elapsed "$t") s, $(grep -c '^synced' <<<"$out") streams synced)"
else
    echo "$out" | tail -15 | sed 's/^/   | /'
    record "demo --once in the image" FAIL "($(elapsed "$t") s, exit non-zero)"
fi

say "migrate, run, /healthz, /readyz against the host's PostgreSQL and RabbitMQ"
psql "$PG_ADMIN_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" \
    -c "CREATE DATABASE $TEST_DB" >/dev/null 2>&1 ||
    die "cannot (re)create database $TEST_DB at $PG_ADMIN_URL"
# host-network containers reach the host's loopback as 127.0.0.1; the
# published-port container reaches it through slirp4netns as 10.0.2.2.
STORE_HOST=$PG_ADMIN_URL/$TEST_DB
STORE_SLIRP=${STORE_HOST/127.0.0.1/10.0.2.2}
AMQP_SLIRP=${AMQP_URL/127.0.0.1/10.0.2.2}
# The daemon's own drain deadline, shorter than podman's stop timeout, as in
# compose.yaml and the Deployment. A binary from before [daemon] existed
# refuses the unknown key: then the daemons start without it.
DAEMON_ENV=("${SECRETS[@]}")
GRACE_ENV=(-e "SWITCHBOARD__DAEMON__SHUTDOWN_GRACE_SECS=$((GRACE_SECS - 5))")
if out=$(run "${SECRETS[@]}" "${GRACE_ENV[@]}" "$IMAGE" check --config "$CONFIG" 2>&1); then
    DAEMON_ENV+=("${GRACE_ENV[@]}")
    record "[daemon] shutdown_grace_secs" PASS "(accepted: $((GRACE_SECS - 5)) s)"
else
    record "[daemon] shutdown_grace_secs" SKIP "(this binary refuses it: $(grep -o 'unknown field `daemon`' <<<"$out" | head -1); daemons start without it)"
fi

t=$(date +%s)
if out=$(run --network host -e "SWITCHBOARD__STORE__URL=$STORE_HOST" "$IMAGE" migrate --config "$CONFIG" 2>&1); then
    record "migrate (--network host)" PASS "($(elapsed "$t") s)"
else
    echo "$out" | tail -5 | sed 's/^/   | /'
    record "migrate (--network host)" FAIL "(exit non-zero)"
fi

# wait_http CONTAINER URL EXPECTED_CODE SECONDS -> prints the last code and
# body; gives up at once when the container has exited.
wait_http() {
    local deadline=$(($(date +%s) + $4)) code body
    while :; do
        body=$(curl -sS -m 3 -w '\n%{http_code}' "$2" 2>&1)
        code=$(tail -1 <<<"$body")
        [ "$code" = "$3" ] && { echo "$code $(head -1 <<<"$body")"; return 0; }
        if [ "$(date +%s)" -ge "$deadline" ] ||
            [ "$("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" != true ]; then
            echo "$code $(head -1 <<<"$body")"
            return 1
        fi
        sleep 1
    done
}

# Replica A: its own network namespace, port published on the host.
t=$(date +%s)
"${PODMAN[@]}" run -d --name "$NAME_A" "${RUN_FLAGS[@]}" \
    --network slirp4netns:allow_host_loopback=true -p "127.0.0.1:$HTTP_PORT:8080" \
    "${DAEMON_ENV[@]}" -e "SWITCHBOARD__STORE__URL=$STORE_SLIRP" -e "SWITCHBOARD__BROKER__URL=$AMQP_SLIRP" \
    "$IMAGE" >/dev/null 2>&1 || record "replica A started" FAIL "(podman run -d failed)"
if got=$(wait_http "$NAME_A" "http://127.0.0.1:$HTTP_PORT/healthz" 200 60); then
    record "/healthz via published port" PASS "($got after $(elapsed "$t") s)"
else
    record "/healthz via published port" FAIL "($got)"
    "${PODMAN[@]}" logs --tail 15 "$NAME_A" 2>&1 | sed 's/^/   | /'
fi
if got=$(wait_http "$NAME_A" "http://127.0.0.1:$HTTP_PORT/readyz" 200 60); then
    record "/readyz replica A (published port)" PASS "($got)"
else
    record "/readyz replica A (published port)" FAIL "($got)"
fi

# Replica B: host network, same database, another port: two replicas on one
# store. Locked down as the Deployment's securityContext locks it: read-only
# root filesystem with a /tmp of its own, no capabilities, no privilege gain.
t=$(date +%s)
"${PODMAN[@]}" run -d --name "$NAME_B" "${RUN_FLAGS[@]}" --network host \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    "${DAEMON_ENV[@]}" -e "SWITCHBOARD__STORE__URL=$STORE_HOST" -e "SWITCHBOARD__BROKER__URL=$AMQP_URL" \
    -e "SWITCHBOARD__HTTP__LISTEN=127.0.0.1:$((HTTP_PORT + 1))" \
    "$IMAGE" >/dev/null 2>&1 || record "replica B started" FAIL "(podman run -d failed)"
if got=$(wait_http "$NAME_B" "http://127.0.0.1:$((HTTP_PORT + 1))/readyz" 200 60); then
    record "/readyz replica B (host net, ro)" PASS "($got after $(elapsed "$t") s)"
else
    record "/readyz replica B (host net, ro)" FAIL "($got)"
    "${PODMAN[@]}" logs --tail 15 "$NAME_B" 2>&1 | sed 's/^/   | /'
fi
if got=$(curl -fsS -m 3 "http://127.0.0.1:$HTTP_PORT/status" 2>&1) && grep -q '"leases"' <<<"$got"; then
    record "/status lists leases" PASS "($(grep -o '"holder":"[^"]*"' <<<"$got" | sort -u | head -2 | tr '\n' ' '))"
else
    record "/status lists leases" FAIL "($(head -c 120 <<<"$got"))"
fi

# Replica C: its broker out of reach. Alive (/healthz 200: liveness must not
# restart it for that) but not ready (/readyz 503): no traffic until the
# broker is back. Its name and port only differ from B's.
NAME_C=${NAME_B%-b}-c
"${PODMAN[@]}" run -d --name "$NAME_C" "${RUN_FLAGS[@]}" --network host \
    "${DAEMON_ENV[@]}" -e "SWITCHBOARD__STORE__URL=$STORE_HOST" \
    -e "SWITCHBOARD__BROKER__URL=amqp://guest:guest@127.0.0.1:9/%2f" \
    -e "SWITCHBOARD__HTTP__LISTEN=127.0.0.1:$((HTTP_PORT + 2))" \
    "$IMAGE" >/dev/null 2>&1 || record "replica C started" FAIL "(podman run -d failed)"
if wait_http "$NAME_C" "http://127.0.0.1:$((HTTP_PORT + 2))/healthz" 200 60 >/dev/null &&
    got=$(wait_http "$NAME_C" "http://127.0.0.1:$((HTTP_PORT + 2))/readyz" 503 10); then
    record "no broker: healthz 200, readyz 503" PASS "(${got:0:80})"
else
    record "no broker: healthz 200, readyz 503" FAIL "(${got:-no answer})"
fi
"${PODMAN[@]}" rm -f -t 0 "$NAME_C" >/dev/null 2>&1

say "SIGTERM"
for n in "$NAME_A" "$NAME_B"; do
    t=$(date +%s)
    "${PODMAN[@]}" stop -t "$GRACE_SECS" "$n" >/dev/null 2>&1
    took=$(elapsed "$t")
    code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$n" 2>/dev/null)
    # 137 would mean podman had to SIGKILL it after the grace period.
    if [ "$code" = 0 ] && [ "$took" -lt "$GRACE_SECS" ]; then
        record "stop $n" PASS "(exit 0 after $took s, grace $GRACE_SECS s)"
    else
        record "stop $n" FAIL "(exit ${code:-?} after $took s, grace $GRACE_SECS s)"
        "${PODMAN[@]}" logs --tail 5 "$n" 2>&1 | sed 's/^/   | /'
    fi
done

summary
[ "$FAILED" -eq 0 ]
