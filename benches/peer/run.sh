#!/usr/bin/env bash
# Switchboard and dlt side by side, in one run, on the same nginx source and PostgreSQL: the peer harness of
# ../shared/peer (its README says what each side does). Runs the tools in turn, ROUNDS times each, and
# prints a Markdown table of medians and ranges. Figures go into docs/PERFORMANCE.md by hand.
#   usage: benches/peer/run.sh N [ROUNDS]        (from the project root; N e.g. 100000 or 1000000)
#   env:   PEER=../shared/peer  TOOLS="sb-postgres sb-sqlite dlt dlt-csv"  BIN=target/release/switchboard
#          BASE_BIN=path/to/an/older/switchboard with TOOLS including sb-base-postgres / sb-base-sqlite: before/after
# Needs python3 with venv, nginx (installed by the harness if missing) and PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
N=${1:?usage: run.sh N [ROUNDS]}; ROUNDS=${2:-3}
PEER=$(realpath "${PEER:-../shared/peer}")
BIN=${BIN:-target/release/switchboard}
TOOLS=${TOOLS:-"sb-postgres sb-sqlite dlt dlt-csv"}
WORK=${PEER_WORK:-/tmp/peer-work}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
[ -x "$WORK/venv/bin/python" ] || { python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q "dlt[postgres]==1.31.0" "psutil==7.2.2"; }
[ -f "$WORK/src-$N/meta.json" ] || python3 "$PEER/make_source.py" "$N" "$WORK/src-$N"
[ -f "$WORK/src-$N-s999/meta.json" ] || python3 "$PEER/make_source.py" "$N" "$WORK/src-$N-s999" --stride 999
[ -x "$BIN" ] || cargo build --release
"$PEER/pg-up.sh" >/dev/null
PEER_WORK=$WORK/plain "$PEER/source-down.sh" >/dev/null 2>&1 || true
PEER_WORK=$WORK/strided "$PEER/source-down.sh" >/dev/null 2>&1 || true
mkdir -p "$WORK/plain" "$WORK/strided"
PEER_WORK=$WORK/plain "$PEER/source-up.sh" "$WORK/src-$N" 18080 >/dev/null
PEER_WORK=$WORK/strided "$PEER/source-up.sh" "$WORK/src-$N-s999" 18081 >/dev/null
trap 'PEER_WORK=$WORK/plain "$PEER/source-down.sh" >/dev/null 2>&1; PEER_WORK=$WORK/strided "$PEER/source-down.sh" >/dev/null 2>&1' EXIT
export RESULTS=$WORK/results-$N-$(date +%s).jsonl
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB; $(psql -qtA -h 127.0.0.1 -U postgres -c 'show server_version'); results in $RESULTS" >&2
for round in $(seq 1 "$ROUNDS"); do
  for tool in $TOOLS; do
    case $tool in
      sb-postgres) "$HERE/sb.sh" "$N" 18081 postgres "$BIN" ;;
      sb-sqlite) "$HERE/sb.sh" "$N" 18081 sqlite "$BIN" ;;
      sb-base-postgres) LABEL=switchboard-before-postgres "$HERE/sb.sh" "$N" 18081 postgres "${BASE_BIN:?}" ;;
      sb-base-sqlite) LABEL=switchboard-before-sqlite "$HERE/sb.sh" "$N" 18081 sqlite "${BASE_BIN:?}" ;;
      dlt) "$WORK/venv/bin/python" "$PEER/dlt_bench.py" "$N" --results "$RESULTS" ;;
      dlt-csv) "$WORK/venv/bin/python" "$PEER/dlt_bench.py" "$N" --loader-file-format csv --label dlt-csv --results "$RESULTS" ;;
    esac >&2
  done
done
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r.get("label") or r["tool"], []).append(r)
print("| tool | runs | records/s (median) | records/s (range) | peak RSS MB (median) | all rows loaded |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for label, rs in by.items():
    rate = [r["records_per_s"] for r in rs]
    rss = [r.get("peak_rss_mb") or r.get("peak_rss_tree_mb") or 0 for r in rs]
    ok = all(r.get("ok", True) for r in rs)
    print(f"| {label} | {len(rs)} | {statistics.median(rate):,.0f} | {min(rate):,.0f}–{max(rate):,.0f} | {statistics.median(rss):,.0f} | {'yes' if ok else 'NO'} |")
PY
