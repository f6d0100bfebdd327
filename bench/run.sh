#!/bin/sh
# run.sh - builds and runs every benchmark the way docs/BENCHMARKS.md reports them.
#   bench/run.sh [EVENTS]     (default 5,000,000 events in the replay)
# Writes the replay to ${TMPDIR:-/tmp}; needs about 1.25 KB of disk per event.
set -eu
cd "$(dirname "$0")/.."
EVENTS=${1:-5000000}
TMP=${TMPDIR:-/tmp}
make -s bench tools

# The replay: copies of the Dofoil chain, each on a fresh host with fresh GUIDs and
# timestamps, inside benign noise (about 10,000 benign events per attack chain).
COPIES=$(( (EVENTS + 9999) / 10032 ))
echo "== generating $COPIES copies (~$EVENTS events) into $TMP/vigil-replay.json"
./build/tools/gen_scenario --seed 1 --copies "$COPIES" --noise 10000 > "$TMP/vigil-replay.json"
echo "   EventID mix:"
grep -o '"EventID":[0-9]*' "$TMP/vigil-replay.json" | sort | uniq -c | sort -rn | awk '{printf "     %s %s\n", $2, $1}'

echo "== JSON parsing (bench_json)"
./build/bench/bench_json "$EVENTS"
echo "== vigil hunt end to end (bench_hunt)"
./build/bench/bench_hunt "$TMP/vigil-replay.json"
echo "== memory flat as input grows: the same on the first fifth of the replay"
head -n $((EVENTS / 5)) "$TMP/vigil-replay.json" > "$TMP/vigil-replay-fifth.json"
./build/bench/bench_hunt "$TMP/vigil-replay-fifth.json"
echo "== EVTX decoding (bench_evtx)"
./build/bench/bench_evtx
rm -f "$TMP/vigil-replay.json" "$TMP/vigil-replay-fifth.json"
echo "== Sigma engine: SigmaHQ Windows rules over the EVTX samples replayed (bench_sigma)"
./build/bench/bench_sigma --events "$EVENTS"
