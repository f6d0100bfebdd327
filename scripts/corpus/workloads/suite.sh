# the project's test suite from a clean clone, the parts that run no simulator: Sigma, hunt over the scenario, events, the cloud service's API tests (vigil-cloud on loopback)
set -x
d=$(mktemp -d /tmp/suite.XXXX); cd $d
git clone -q /work/main vigil && cd vigil
make -j2 2>&1 | tail -1
make -j2 build/tests/run build/tools/gen_scenario 2>&1 | tail -1
for t in sigma_load sigma_cond hunt event cloud_api json; do VIGIL_BUILD=build ./build/tests/run $t 2>&1 | tail -1; done
./build/vigil hunt -q tests/data/dofoil 2>/dev/null | wc -l
cd /; rm -rf $d
