# programs from a Debian package unpacked by hand into /tmp and run from there (unpackaged copies of real programs), and node and perl scripts
set -x
d=$(mktemp -d /tmp/debx.XXXX); cd $d
apt-get download -q hello 2>&1 | tail -1 && dpkg-deb -x hello_*.deb root && ./root/usr/bin/hello && ./root/usr/bin/hello -g "from /tmp"
apt-get download -q cowsay 2>&1 | tail -1 && dpkg-deb -x cowsay_*.deb cow && perl cow/usr/games/cowsay -f cow/usr/share/cowsay/cows/default.cow moo || true
node -e 'const os=require("os");console.log(os.cpus().length, os.platform())'
printf 'console.log([1,2,3].map(x=>x*2).join(","))\n' > t.js && node t.js
perl -MDigest::MD5=md5_hex -e 'print md5_hex("x"),"\n"'
cd /; rm -rf $d
