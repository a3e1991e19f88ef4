#!/bin/sh
# consumer.sh BUILD_DIR CMAKE CC — installs the build into a temporary prefix
# (cmake --install BUILD_DIR --prefix TMP), builds project/ against it with
# find_package(meshward) and with pkg-config, and runs every program it built.
set -eu
build=$1
cmake=$2
cc=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cmake" --install "$build" --prefix "$tmp/prefix" >/dev/null

"$cmake" -S "$here/project" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    -DCMAKE_C_COMPILER="$cc" >/dev/null
"$cmake" --build "$tmp/cmake"
for exe in consumer consumer-static consumer-hardened consumer-hardened-static; do
    "$tmp/cmake/$exe"
done

pc=$(find "$tmp/prefix" -name meshward.pc)
[ -n "$pc" ] || { echo "consumer: meshward.pc was not installed" >&2; exit 1; }
mkdir "$tmp/make"
PKG_CONFIG_PATH=$(dirname "$pc") make -s -C "$here/project" OUT="$tmp/make" CC="$cc"
"$tmp/make/consumer-pkgconfig"
