#!/usr/bin/env python3
# stats.py CORPUS.jsonl...: counts of corpus lines per platform, class, family and group (markdown tables for data/corpus/README.md)
import collections, json, sys

for path in sys.argv[1:]:
    by_class = collections.Counter(); by_family = collections.Counter(); groups = collections.defaultdict(set)
    by_kind = collections.Counter(); by_group = collections.Counter(); endpoints = set()
    fam_groups = collections.defaultdict(set)
    for line in open(path):
        d = json.loads(line)
        key = (d["platform"], d["label"])
        by_class[key] += 1
        by_family[(d["platform"], d["label"], d["family"])] += 1
        fam_groups[(d["platform"], d["label"], d["family"])].add(d["group"])
        groups[key].add(d["group"])
        by_group[(d["label"], d["group"])] += 1
        endpoints.add(d["signal"].get("endpoint_id"))
        by_kind[(d["label"], "rule match" if d["signal"]["rule_ids"] else "process start")] += 1
    print("### %s\n" % path.split("/")[-1])
    print("| platform | class | lines | groups | lines per group (min / median / max) |")
    print("|---|---|---|---|---|")
    for (plat, label), n in sorted(by_class.items()):
        sizes = sorted(c for (l, g), c in by_group.items() if l == label and g in groups[(plat, label)])
        print("| %s | %s | %d | %d | %d / %d / %d |" % (plat, label, n, len(groups[(plat, label)]), sizes[0], sizes[len(sizes) // 2], sizes[-1]))
    print("\n| class | kind | lines |\n|---|---|---|")
    for (label, kind), n in sorted(by_kind.items()):
        print("| %s | %s | %d |" % (label, kind, n))
    print("\n| class | family | lines | groups |\n|---|---|---|---|")
    for (plat, label, fam), n in sorted(by_family.items(), key=lambda x: (x[0][1], -x[1])):
        print("| %s | %s | %d | %d |" % (label, fam, n, len(fam_groups[(plat, label, fam)])))
    print("\nstand-in endpoints: %d\n" % len(endpoints))
