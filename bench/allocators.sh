# allocators.sh — the allocators that the shell benchmarks (startup.sh, fast_path.sh)
# compare, sourced with BUILD set to the CMake build directory: ALLOC_LIBS[name] is the
# library to preload ("" for glibc, which needs none) and ALLOC_ORDER the order of the
# tables. A peer whose Debian package is missing has no file at its path; the scripts skip it.
LIBDIR=/usr/lib/$(gcc -print-multiarch)
declare -A ALLOC_LIBS=(
    [glibc]=""
    [mimalloc]=$LIBDIR/libmimalloc.so.2
    [jemalloc]=$LIBDIR/libjemalloc.so.2
    [tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4
    [meshward]=$BUILD/src/libmeshward.so
    [meshward-hardened]=$BUILD/src/libmeshward-hardened.so
)
ALLOC_ORDER=(glibc mimalloc jemalloc tcmalloc meshward meshward-hardened)
