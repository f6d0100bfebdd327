#!/bin/sh
# setup.sh - installs the Debian 12 packages Vigil needs, builds it, and runs the main job:
# hunting the bundled Dofoil scenario and drawing the alert trees.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential pkg-config clang llvm libclang-rt-14-dev \
libevtx-dev libevtx-utils libyaml-dev libexpat1-dev libpcre2-dev libcjson-dev libvectorscan-dev systemd libssl-dev"
PACKAGES="$PACKAGES libelf-dev" # src/linux: ELF facts
PACKAGES="$PACKAGES libbpf-dev bpftool zlib1g-dev" # the eBPF sensor
PACKAGES="$PACKAGES libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev nginx" # vigil-cloud; nginx: the HTTP ceiling in bench_cloud
PACKAGES="$PACKAGES libxgboost-dev" # the gradient-boosted trees: trained with XGBoost's C API (vigil train)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

make -j"$(nproc)"
echo
echo "setup: hunting the bundled Dofoil scenario (tests/data/dofoil/scenario.json)"
echo
./build/vigil hunt --format tree tests/data/dofoil/scenario.json || [ $? -eq 1 ]
