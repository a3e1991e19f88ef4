#!/usr/bin/env bash
# Installs the Debian packages meshward needs to build and test (and, with --bench, the peer
# allocators the benchmarks compare against), only those missing. Debian 12.
set -euo pipefail

# libdw-dev: `meshward report` names call sites; liblttng-ctl-dev: `meshward trace` drives
# LTTng; libunwind8: the call stacks of `meshward trace --stacks` (libgcc's unwinder, ~50x
# slower, otherwise); chromium: the report's HTML page is tested in it (headless);
# redis-server (with redis-tools: redis-cli, redis-benchmark): bench/redis_frag.sh.
packages=(build-essential cmake pkg-config clang-format valgrind python3 sqlite3 git
          liblttng-ust-dev lttng-tools liblttng-ctl-dev babeltrace2 libbabeltrace2-dev
          libcmocka-dev libdw-dev libunwind8 chromium)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(libmimalloc-dev libjemalloc-dev libtcmalloc-minimal4 libclang-rt-14-dev
               heaptrack hyperfine libunwind-dev redis-server)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "meshward: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
