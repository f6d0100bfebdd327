#!/bin/bash
# labels.sh: writes the Linux labels manifest (data/corpus/labels.tsv form) for the recordings in $REC: benign workloads by name, one line per simulator variant with its family from the run's plan line.
REC=${REC:-/tmp/corpus-rec}
cd "$REC"
echo "# labels.tsv - Linux corpus manifest (docs/corpus.md): recording, label, family, group, platform, options"
echo "# root= is the recorded job's pid (only its subtree counts: other work ran on the machine); unpackaged leaves out package-verified programs the attack ran"
for f in *.root; do
  n=${f%.root}
  [ -s "$n.jsonl" ] && grep -q "^rc=" "$n.out" || continue   # rc 137: a protect-mode vigild of another job killed the run part-way; what was recorded is still the attack
  case $n in
  sim-v*)
    fam=$(head -1 "$n.out" | python3 -c 'import json,sys;print(json.load(sys.stdin)["variant"]["family"])') || continue
    printf "%s.jsonl\tmalicious\t%s\t%s\tlinux\troot=%s,unpackaged\n" "$n" "$fam" "$n" "$(cat "$f")";;
  *) printf "%s.jsonl\tbenign\tnone\t%s\tlinux\troot=%s\n" "$n" "$n" "$(cat "$f")";;
  esac
done
