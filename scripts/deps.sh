#!/usr/bin/env bash
# Installs the system libraries leakwatch builds against, when missing
# (Debian/Ubuntu): libpcap, Hyperscan (or Vectorscan), pkg-config.
set -euo pipefail

need=()
pkg-config --exists libhs 2>/dev/null || need+=(libhyperscan-dev)
pkg-config --exists libpcap 2>/dev/null || need+=(libpcap-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(build-essential)
# redis-server: the sink tests start one on loopback (they skip without it).
command -v redis-server >/dev/null || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "leakwatch: installing ${need[*]} with apt-get" >&2
$SUDO apt-get update -qq
# Hyperscan only exists on x86_64; Vectorscan is the same API elsewhere.
if ! $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; then
  alt=("${need[@]/libhyperscan-dev/libvectorscan-dev}")
  $SUDO apt-get install -y -qq "${alt[@]}" >/dev/null
fi
