#!/usr/bin/env bash
# One Switchboard bulk load from the peer harness's nginx ServiceNow source (../shared/peer), through the
# shipped manifest (the incident list only: no journal details, no deletions, no actions; page size 1000,
# rate limit off) and the shipped mapping, `switchboard run --once` into a fresh store. Prints one JSON
# line shaped like dlt_bench.py's, and appends it to $RESULTS if set.
#   usage: sb.sh N PORT STORE [BIN]      STORE: postgres | sqlite; LABEL names the line (default switchboard-STORE)
set -euo pipefail
N=${1:?usage: sb.sh N PORT STORE [BIN]}; PORT=${2:?}; STORE=${3:?}
BIN=$(realpath "${4:-target/release/switchboard}")
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/sbpeer.XXXXXX); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/connectors" "$W/mappings"
python3 - "$PROJ/connectors/servicenow.toml" "$W/connectors/servicenow.toml" "$PORT" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
# The incident list alone, as benches/bulk_load.rs cuts it: what follows reads journals, deletions,
# catalogue requests and defines actions.
s = s[:s.index("\n# An incident's comments")] + "\n"
s = re.sub(r'base_url = ".*"', f'base_url = "http://127.0.0.1:{sys.argv[3]}"', s)
s = re.sub(r'rate_limit_per_sec = \d+', 'rate_limit_per_sec = 0', s)
s = re.sub(r'page_size = \d+', 'page_size = 1000', s)
open(sys.argv[2], "w").write(s)
PY
cp "$PROJ/mappings/servicenow-incident.toml" "$W/mappings/"
case $STORE in
  postgres)
    URL="postgres://postgres@127.0.0.1:5432/sbpeer"
    psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS sbpeer' -c 'CREATE DATABASE sbpeer' >/dev/null ;;
  sqlite) URL="sqlite://$W/store.db" ;;
  *) echo "STORE must be postgres or sqlite" >&2; exit 2 ;;
esac
cat >"$W/switchboard.toml" <<TOML
version = 1
[store]
url = "$URL"
[http]
listen = "127.0.0.1:0"
[paths]
connectors = "connectors"
mappings = "mappings"
reload_secs = 0
[log]
level = "warn"
TOML
# The store is migrated inside the timed run, as dlt creates its tables inside its own.
export SERVICENOW_USERNAME=peer SERVICENOW_PASSWORD=peer
load=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
/usr/bin/time -v -o "$W/time.txt" "$BIN" --config "$W/switchboard.toml" run --once >"$W/out.txt" 2>&1 || { cat "$W/out.txt" >&2; exit 1; }
end=$(date +%s.%N)
case $STORE in
  postgres) rows=$(psql -qtA -h 127.0.0.1 -U postgres -d sbpeer -c "select count(*), count(distinct external_id) from work_items" | tr '|' ' ') ;;
  sqlite) rows=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(*c.execute('select count(*), count(distinct external_id) from work_items').fetchone())" "$W/store.db") ;;
esac
python3 - "$N" "$start" "$end" "$W/time.txt" "$rows" "$load" "${RESULTS:-}" "$STORE" "${LABEL:-switchboard-$STORE}" <<'PY'
import json, re, sys
n, start, end, tf, rows, load, results, store, label = sys.argv[1:10]
t = open(tf).read()
g = lambda k: re.search(re.escape(k) + r": (.*)", t).group(1)
wall = float(end) - float(start)
rows, distinct = (int(x) for x in rows.split())
out = {"tool": "switchboard", "label": label, "n": int(n), "wall_s": round(wall, 2),
       "records_per_s": round(int(n) / wall), "cpu_user_s": float(g("User time (seconds)")),
       "cpu_sys_s": float(g("System time (seconds)")),
       "peak_rss_mb": round(int(g("Maximum resident set size (kbytes)")) / 1024),
       "rows": rows, "distinct_ids": distinct, "ok": rows == int(n) == distinct, "loadavg_before": float(load)}
line = json.dumps(out)
print(line)
if results:
    open(results, "a").write(line + "\n")
PY
