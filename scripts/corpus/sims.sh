#!/bin/bash
# sims.sh FROM TO: records simulator variants 1000+FROM .. 1000+TO for the corpus, one recording each; the variant's padded loader is installed before its recording starts and removed after.
REC=${REC:-/tmp/corpus-rec}; BIN=${BIN:-$REC/bin}; HERE=$(cd "$(dirname "$0")" && pwd)
cd "$REC"
for v in $(seq $1 $2); do
  V=$((1000 + v))
  export LOADER=$("$BIN/vigil_sim" --variant $V --install-copy) || continue
  export LOADER_ARGS=$("$BIN/vigil_sim" --variant $V --plan | python3 -c 'import json,sys;print(" ".join(json.load(sys.stdin)["variant"]["args"]))')
  VIGIL_SIM_VARIANT=$V "$HERE/record.sh" sim-v$V "$HERE/workloads/sim.sh"
  rm -rf "$(dirname "$LOADER")"
done
