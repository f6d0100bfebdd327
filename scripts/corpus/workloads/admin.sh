# administration chores: a test user added and removed, groups, permissions, an archive and restore with tar/zstd/zip/rsync, log rotation by hand, a /tmp maintenance script
set -x
useradd -m -s /bin/bash corpususer && id corpususer && usermod -aG users corpususer && groups corpususer
su - corpususer -c 'whoami; echo hi > ~/note.txt; ls -la ~ | head -3'
userdel -r corpususer 2>/dev/null; id corpususer || true
d=$(mktemp -d /tmp/admin.XXXX); cd $d
mkdir -p data/a data/b; for i in $(seq 1 30); do head -c 2000 /dev/urandom | base64 > data/a/f$i; done; cp -r data/a/* data/b/
tar cf - data | zstd -q -o data.tar.zst; zstd -dc data.tar.zst | tar tf - | wc -l
zip -qr data.zip data && unzip -l data.zip | tail -1; rsync -a data/ copy/ && diff -r data copy && echo same
chmod -R go-rwx copy; find copy -type f -perm 600 | wc -l; chown -R nobody copy; stat -c %U copy/a/f1
for i in 1 2 3; do echo "log $i" >> app.log; mv app.log app.log.$i; gzip app.log.$i; done; ls *.gz
cat > /tmp/cleanup-$$.sh <<'S'
#!/bin/bash
find "$1" -name '*.gz' -mmin -10 -print | wc -l
S
chmod +x /tmp/cleanup-$$.sh; /tmp/cleanup-$$.sh $d; rm -f /tmp/cleanup-$$.sh
cd /; rm -rf $d
