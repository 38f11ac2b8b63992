#!/bin/bash
# build.sh RELEASE OUT: libssl.so.3 and libcrypto.so.3 of Debian 12's
# OpenSSL (source.sh), made livepatchable (-fpatchable-function-entry=16,14,
# .symtab kept), vulnerable again to CVE-2024-5535 and CVE-2023-0286 and
# without X509_check_host's refusal of embedded NULs (*-again.patch), so
# that live patches have something real to fix; into
# OUT.  RELEASE (1, 2, ...) is recorded in the compiler switches the
# libraries carry, so each release has its own build-IDs, as two builds of
# a distribution package have.  Builds are cached outside the tree
# (ULP_REAL_TARGETS_CACHE, default /var/cache/ulp-real-targets), keyed by
# the source version, the flags, the patches and the release: a second
# call takes a few seconds.
set -euo pipefail
release=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
cache=${ULP_REAL_TARGETS_CACHE:-/var/cache/ulp-real-targets}/openssl
src=$("$here/source.sh" "$cache")
flags="-O2 -g -fpatchable-function-entry=16,14 -frecord-gcc-switches -DULP_REAL_TARGET_RELEASE=$release"
key=$( { basename "$src"; echo "$flags"; cat "$here"/*-again.patch "$0"; } | sha256sum | cut -c1-16)
tree=$cache/build-$release-$key
if [ ! -e "$tree/.built" ]; then
  rm -rf "$tree"
  cp -a "$src" "$tree"
  for p in "$here"/*-again.patch; do
    patch -s -p1 -d "$tree" <"$p"
  done
  (cd "$tree" && CFLAGS="$flags" ./Configure linux-x86_64 shared no-tests \
    --libdir=lib >"$tree/configure.log" 2>&1 &&
    make -j"$(nproc)" build_libs >"$tree/build.log" 2>&1) ||
    { echo "build.sh: the OpenSSL build failed: $tree/*.log" >&2; exit 1; }
  touch "$tree/.built"
fi
mkdir -p "$out"
cp "$tree/libssl.so.3" "$tree/libcrypto.so.3" "$out/"
echo "$tree"
