# build vigil from a clean clone under /tmp and run a part of its unit tests (no simulator)
set -x
d=$(mktemp -d /tmp/vigilbuild.XXXX); cd $d
git clone -q /work/main vigil && cd vigil
make -j2 2>&1 | tail -3
make -j2 build/tests/run 2>&1 | tail -2

for t in json evtx yaml proctree dpkg elf strmap buf winpath; do VIGIL_BUILD=build ./build/tests/run $t 2>&1 | tail -1; done
cd /; rm -rf $d
