# services and everyday tools: nginx start/stop, sqlite, git, python, shell pipelines, a cron-like script
set -x
d=$(mktemp -d /tmp/svc.XXXX); cd $d
mkdir -p www logs
echo hello > www/index.html
cat > nginx.conf <<C
pid $d/nginx.pid; error_log $d/logs/error.log; daemon on;
events {}
http { access_log $d/logs/access.log; client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
 server { listen 127.0.0.1:18089; root $d/www; } }
C
nginx -c $d/nginx.conf -p $d
sleep 0.5
for i in 1 2 3; do curl -s http://127.0.0.1:18089/ >/dev/null; done
nginx -c $d/nginx.conf -p $d -s stop
sleep 0.5
sqlite3 db.sqlite "create table t(a,b); insert into t values(1,'x'),(2,'y'); select count(*) from t;"
sqlite3 db.sqlite .dump | gzip > dump.sql.gz
git init -q repo && cd repo && git config user.email a@b && git config user.name a
for i in 1 2 3; do echo $i > f$i; git add f$i; git commit -qm "c$i"; done
git log --oneline | wc -l; git diff HEAD~1 --stat; git gc -q
cd ..
git clone -q repo repo2 && (cd repo2 && git status -s)
python3 -c 'import json,hashlib;print(hashlib.sha256(json.dumps({"a":1}).encode()).hexdigest())'
cat > job.py <<'P'
import os, subprocess, tempfile
for i in range(3):
    subprocess.run(["ls","-la","/tmp"],stdout=subprocess.DEVNULL)
with tempfile.NamedTemporaryFile() as f:
    f.write(b"x"*1000)
print(os.getpid())
P
python3 job.py
ps aux | grep -v grep | awk '{print $11}' | sort | uniq -c | sort -rn | head -3
find /usr/share/doc -name '*.gz' | head -50 | xargs zcat 2>/dev/null | wc -l
cat /etc/passwd | cut -d: -f1 | sort | tr a-z A-Z | head -3
tar czf etc.tgz -C /etc hostname hosts; tar tzf etc.tgz; sha256sum etc.tgz; md5sum etc.tgz
cat > cronjob.sh <<'C'
#!/bin/sh
date >> /tmp/cron-like.log; df -h / | tail -1; uptime; logger -t corpus "cron-like job ran" || true
C
chmod +x cronjob.sh
for i in 1 2 3; do ./cronjob.sh; sleep 0.2; done
run-parts --test /etc/cron.daily || true
perl -e 'print "perl ok\n"'; awk 'BEGIN{print 1+1}'; sed -n 1p /etc/hostname
curl -s -o /dev/null -w '%{http_code}\n' https://deb.debian.org/ || true
getent hosts localhost; id; uname -a; ip addr show lo | head -2
cd /; rm -rf $d /tmp/cron-like.log
