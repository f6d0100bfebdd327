# python scripts: a small data job, a local http server and client, a venv-free script from /tmp
set -x
d=$(mktemp -d /tmp/py.XXXX); cd $d
cat > job.py <<'P'
import csv, json, statistics, random, sqlite3, os, subprocess, hashlib
rows = [{"id": i, "v": random.random()} for i in range(1000)]
with open("data.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["id", "v"]); w.writeheader(); w.writerows(rows)
db = sqlite3.connect("d.db"); db.execute("create table t(id, v)"); db.executemany("insert into t values(:id, :v)", rows); db.commit()
print(statistics.mean(r["v"] for r in rows), db.execute("select count(*) from t").fetchone())
print(subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip())
print(hashlib.sha256(open("data.csv", "rb").read()).hexdigest()[:16])
P
python3 job.py
python3 -m http.server 18091 --bind 127.0.0.1 >/dev/null 2>&1 & srv=$!
sleep 1; python3 -c 'import urllib.request;print(len(urllib.request.urlopen("http://127.0.0.1:18091/").read()))'; curl -s http://127.0.0.1:18091/data.csv | head -2
kill $srv; wait $srv 2>/dev/null
printf '#!/usr/bin/env python3\nimport sys\nprint(sum(int(a) for a in sys.argv[1:]))\n' > /tmp/py-sum-$$; chmod +x /tmp/py-sum-$$; /tmp/py-sum-$$ 1 2 3; rm -f /tmp/py-sum-$$
python3 -m json.tool <<< '{"a": [1, 2]}'; python3 -m py_compile job.py; python3 -c 'import this' | head -3
cd /; rm -rf $d
