# shell pipelines and text tools over system files and logs
set -x
find /usr/share/doc -maxdepth 2 -name 'copyright' | head -200 | xargs grep -l GPL | wc -l
ls -la /etc | awk '{s+=$5} END {print s}'
cat /etc/services | grep -v '^#' | awk '{print $2}' | cut -d/ -f2 | sort | uniq -c
journalctl -n 20 --no-pager 2>/dev/null | wc -l || true
dpkg -l | awk '/^ii/{print $2}' | wc -l; dpkg -S /bin/ls; apt-cache policy bash | head -3
seq 1 10000 | paste -sd+ | bc; seq 1 1000 | shuf | sort -n | tail -1
tmp=$(mktemp); for i in $(seq 1 50); do echo "line $i $RANDOM"; done > $tmp; wc -l $tmp; sort -k3 -n $tmp | head -2; gzip -k $tmp; zcat $tmp.gz | md5sum; xz -k $tmp; unxz -c $tmp.xz | sha1sum; rm -f $tmp*
stat /etc/hostname; file /bin/bash; du -sh /usr/share/man 2>/dev/null; df -h | head -3; free -m; ps -ef | wc -l; uptime
date +%s | sha256sum | head -c 16; echo; printf '%s\n' a b c | tac | rev; iconv -f utf-8 -t ascii//TRANSLIT <<< "café"
