# package installs and removals: apt-get of small Debian packages, dpkg -i/-r of a package built with dpkg-deb
set -x
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends tree sl
tree -L 1 /usr | head -5
/usr/games/sl -e </dev/null >/dev/null 2>&1 & sleep 1; kill $! 2>/dev/null
apt-get remove -y tree sl
d=$(mktemp -d /tmp/debpkg.XXXX)
mkdir -p $d/pkg/DEBIAN $d/pkg/usr/bin
cat > $d/pkg/DEBIAN/control <<'C'
Package: vigil-corpus-hello
Version: 1.0
Architecture: amd64
Maintainer: corpus <corpus@localhost>
Description: hello for the benign corpus
C
printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' > $d/h.c
gcc -O2 -o $d/pkg/usr/bin/vigil-corpus-hello $d/h.c
dpkg-deb --build $d/pkg $d/hello.deb
dpkg -i $d/hello.deb
vigil-corpus-hello
dpkg -r vigil-corpus-hello
rm -rf $d
