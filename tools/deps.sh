#!/usr/bin/env bash
# deps.sh — installs the Debian packages that building and testing need (make deps).
# Idempotent and quiet when everything is already there.
set -euo pipefail
pkgs=(
  build-essential pkg-config
  libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libssl-dev libsqlite3-dev sqlite3 libargon2-dev
  python3 python3-grpcio python3-protobuf
  nghttp2-client clang libclang-rt-14-dev valgrind iproute2
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
