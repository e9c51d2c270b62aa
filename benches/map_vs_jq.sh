#!/bin/sh
# `switchboard map` against jq on the same JSON lines, as whole processes.
#
#   benches/map_vs_jq.sh [RECORDS ...]      (default: 200000 1000000)
#
# For each size it writes ServiceNow-shaped incidents (the five golden
# records of tests/golden/servicenow-incident.input.jsonl, each copy with a
# new sys_id and number: about 1.1 KB a line) to $TMPDIR, then runs, in
# turn, RUNS times each (default 5, after one warm-up of each):
#   A: switchboard map --mapping $MAPPING --input FILE > /dev/null
#   B: $JQ -c "$JQ_PROGRAM" FILE > /dev/null
# JQ_PROGRAM is the jq program of benches/mapping.rs, rule for rule the
# shipped mapping plus one `major` attribute. MAPPING defaults to the
# shipped mappings/servicenow-incident.toml; MAPPING=cel maps with that
# attribute added as a CEL `when`, the exact equivalent of the jq program.
# JQ defaults to /usr/bin/jq; BIN names a switchboard binary to use
# instead of building one. Each run is timed by /usr/bin/time -v (wall,
# user, system, peak RSS); the script prints every run, then the median,
# min and max of each figure and the median of the per-pair ratios B/A.
# Needs python3 to write the input and a release build (built here).
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
JQ=${JQ:-/usr/bin/jq}
TMP=${TMPDIR:-/tmp}
SIZES=${*:-200000 1000000}

if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin switchboard
    BIN=$PWD/target/release/switchboard
fi
PROGRAM=$(sed -n '/^const JQ_PROGRAM: &str = r#"$/,/^"#;$/p' benches/mapping.rs | sed '1d;$d')
[ -n "$PROGRAM" ] || { echo "JQ_PROGRAM not found in benches/mapping.rs" >&2; exit 2; }

MAPPING=${MAPPING:-mappings/servicenow-incident.toml}
if [ "$MAPPING" = cel ]; then
    MAPPING=$TMP/map-bench-cel.toml
    cp mappings/servicenow-incident.toml "$MAPPING"
    printf '\n[attributes.major]\nconst = true\nwhen = "%s"\n' "record.impact == '1' && record.urgency == '1'" >> "$MAPPING"
fi

# One run: "wall user sys peak_kib" of the command, its stdout discarded.
timed() {
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/map-bench.time" "$@" > /dev/null 2>&1 || true
    tail -n 1 "$TMP/map-bench.time"
}

# Median, min and max of column $1 of the lines on stdin.
stats() {
    awk -v c="$1" '{print $c}' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s (%s-%s)", m, v[1], v[NR]}'
}

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  nproc: $(nproc)  cpu: $(lscpu | sed -n 's/^Model name: *//p')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "jq: $($JQ --version)  mapping: $MAPPING"
for n in $SIZES; do
    input=$TMP/map-bench-$n.jsonl
    if [ ! -s "$input" ]; then
        python3 - "$n" > "$input" <<'PY'
import json, sys
rs = [json.loads(l) for l in open("tests/golden/servicenow-incident.input.jsonl") if l.strip()]
for i in range(int(sys.argv[1])):
    r = dict(rs[i % 5]); r["sys_id"] = "%032x" % i; r["number"] = "INC%07d" % i
    print(json.dumps(r))
PY
    fi
    echo "== $n records, $(du -m "$input" | cut -f1) MB"
    timed "$BIN" map --mapping "$MAPPING" --input "$input" > /dev/null
    timed "$JQ" -c "$PROGRAM" "$input" > /dev/null
    : > "$TMP/map-bench.a"; : > "$TMP/map-bench.b"
    i=0
    while [ $i -lt "$RUNS" ]; do
        a=$(timed "$BIN" map --mapping "$MAPPING" --input "$input")
        b=$(timed "$JQ" -c "$PROGRAM" "$input")
        echo "$a" >> "$TMP/map-bench.a"; echo "$b" >> "$TMP/map-bench.b"
        echo "run $((i + 1)): switchboard $a | jq $b  (wall s, user s, sys s, peak KiB)"
        i=$((i + 1))
    done
    for who in a b; do
        f=$TMP/map-bench.$who
        name=$([ $who = a ] && echo switchboard || echo jq)
        wall=$(stats 1 < "$f" | cut -d' ' -f1)
        echo "$name: wall $(stats 1 < "$f") s, user $(stats 2 < "$f") s, sys $(stats 3 < "$f") s, peak $(stats 4 < "$f") KiB, $(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.0f", n / w}') records/s (median wall)"
    done
    paste "$TMP/map-bench.a" "$TMP/map-bench.b" | awk '{print $5 / $1}' | sort -g \
        | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "jq wall / switchboard wall, pair by pair: median %.1fx (%.1f-%.1f)\n", m, v[1], v[NR]}'
done
