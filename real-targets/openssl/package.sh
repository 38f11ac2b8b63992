#!/bin/bash
# package.sh OUT [rpmbuild options]: the rpm packages of two releases of
# the livepatchable OpenSSL (build.sh 1 and 2), libopenssl3-VERSION-1 and
# -2, into OUT, and a createrepo_c repository of them in OUT/repo (where
# `make download` of a livepatch package finds every released build).
set -euo pipefail
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$("$here/source.sh" "${ULP_REAL_TARGETS_CACHE:-/var/cache/ulp-real-targets}/openssl")
version=$(basename "$src")
version=${version#openssl-}
mkdir -p "$out/repo"
for release in 1 2; do
  top=$(mktemp -d "$out/rpmbuild.XXXX")
  "$here/build.sh" "$release" "$top/SOURCES" >/dev/null
  rpmbuild -bb --nodeps --quiet --define "_topdir $top" \
    --define "openssl_version $version" --define "openssl_release $release" \
    "$@" "$here/libopenssl3.spec" >/dev/null
  find "$top/RPMS" -name '*.rpm' -exec mv {} "$out/" \;
  rm -rf "$top"
done
cp "$out"/libopenssl3-*.rpm "$out/repo/"
createrepo_c -q "$out/repo" >/dev/null
