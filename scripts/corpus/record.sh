#!/bin/bash
# record.sh NAME WORKLOAD: records one workload for the corpus (docs/corpus.md): an audit-mode vigild with the record setting runs while WORKLOAD runs as "bash job.sh" in a fresh folder; writes $REC/NAME.jsonl (the recording), NAME.root (the job's pid, the root= of the manifest), NAME.out (its output).
set -u
name=$1; script=$(realpath "$2")
REC=${REC:-/tmp/corpus-rec}; BIN=${BIN:-$REC/bin}
mkdir -p "$REC"; cd "$REC"
rm -f vigild.sock
cat > vigild.conf <<CONF
mode audit
policy $REC/no-policy.yml
alert_log $REC/alerts.jsonl
socket $REC/vigild.sock
state_dir $REC/state
CONF
mkdir -p state
"$BIN/vigild" --config vigild.conf --foreground --record "$REC/$name.jsonl" 2>>"$REC/$name.vigild.log" &
vpid=$!
for i in $(seq 1 200); do [ -S vigild.sock ] && break; sleep 0.1; done
sleep 1
date -u +%FT%TZ > "$name.started"
run=$(mktemp -d /tmp/job.XXXXXX)
cp "$script" "$run/job.sh"
(cd "$run" && exec bash job.sh > "$REC/$name.out" 2>&1) &
root=$!
echo $root > "$name.root"
wait $root
echo "rc=$?" >> "$REC/$name.out"
rm -rf "$run"
sleep 1
kill -TERM $vpid; wait $vpid
echo "$name done $(date -u +%T)"
