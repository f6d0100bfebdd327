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
echo "== Sigma correlation rules (bench_corr)"
./build/bench/bench_corr
rm -f "$TMP/vigil-replay.json" "$TMP/vigil-replay-fifth.json"
echo "== dead-rule check at load (bench_sigma_fields)"
./build/bench/bench_sigma_fields
echo "== eBPF sensor: zero-drop event rate and kill latency (bench_sensor, needs root)"
if [ "$(id -u)" -eq 0 ]; then ./build/bench/bench_sensor --duration "${SENSOR_SECONDS:-60}"; else echo "   skipped: not root"; fi
echo "== vigil-cloud POST /v1/signals, open loop, against nginx as the HTTP ceiling (bench_cloud)"
./build/bench/bench_cloud   # ramp to each server's maximum, then three runs at half of it; ratios at the end
echo "== gradient-boosted trees: one-row verdict, compact trees vs XGBoost's predict (bench_infer)"
./build/bench/bench_infer
echo "== Sigma engine: SigmaHQ Windows rules over the EVTX samples replayed (bench_sigma)"
./build/bench/bench_sigma --events "$EVENTS"
echo "== vigild: overhead (build, fork/exec storm) and time to kill (bench_agent, needs root)"
if [ "$(id -u)" -eq 0 ]; then ./build/bench/bench_agent all 5 20000; else echo "   skipped: not root"; fi
echo "== eBPF sensor: cost added to one system call (bench_syscall_cost, needs root)"
if [ "$(id -u)" -eq 0 ]; then ./build/bench/bench_syscall_cost; else echo "   skipped: not root"; fi
echo "== vigild: a verdict change on vigil-cloud to vigild applied, by long-poll (bench_verdict_poll, needs root)"
if [ "$(id -u)" -eq 0 ]; then ./build/bench/bench_verdict_poll 100; else echo "   skipped: not root"; fi
echo "== block at first sight: exec latency with the hold, cache miss and hit (bench_hold, needs root)"
if [ "$(id -u)" -eq 0 ]; then ./build/bench/bench_hold 200 50; else echo "   skipped: not root"; fi
