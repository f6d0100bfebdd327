# package installs and removals: apt-get of small Debian packages, dpkg -i/-r of a package built with dpkg-deb
set -x
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends jq bc
echo "{\"a\":[1,2]}" | jq ".a|length"; echo "2^64" | bc
jq --version
apt-get remove -y jq bc
d=$(mktemp -d /tmp/debpkg.XXXX)
mkdir -p $d/pkg/DEBIAN $d/pkg/usr/bin
cat > $d/pkg/DEBIAN/control <<'C'
Package: vigil-corpus-tool
Version: 1.0
Architecture: amd64
Maintainer: corpus <corpus@localhost>
Description: hello for the benign corpus
C
printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' > $d/h.c
gcc -O2 -o $d/pkg/usr/bin/vigil-corpus-tool $d/h.c
dpkg-deb --build $d/pkg $d/hello.deb
dpkg -i $d/hello.deb
vigil-corpus-tool
dpkg -r vigil-corpus-tool
rm -rf $d
