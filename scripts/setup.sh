#!/bin/sh
# setup.sh - installs the Debian 12 packages Vigil needs, builds it, and runs the main job:
# `vigil up` for a bounded time (vigil-cloud and vigild on this machine, the bundled Windows
# Dofoil scenario replayed and the Linux attack simulator run once; alerts printed as they come).
# Without root or BPF it hunts the bundled scenario and draws the alert trees instead.
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

make -j"$(nproc)" all tools
echo
if [ -r /sys/kernel/btf/vmlinux ] && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
	# audit mode: it alerts and touches nothing; --port 0: any free loopback port; ends 5 s after the demo
	echo "setup: vigil up (state in build/up-state; run it yourself with: sudo ./build/vigil up)"
	echo
	status=0
	$SUDO ./build/vigil up --port 0 --state build/up-state --duration 5 || status=$?
	# through sudo the state folder is root's: give it back, so `make clean` can remove it
	[ -z "$SUDO" ] || $SUDO chown -R "$(id -u):$(id -g)" build/up-state
	[ "$status" -eq 0 ]
else
	echo "setup: no root or no BPF here, so no vigil up; hunting the bundled Dofoil scenario (tests/data/dofoil/scenario.json)"
	echo
	./build/vigil hunt --format tree tests/data/dofoil/scenario.json || [ $? -eq 1 ]
fi
