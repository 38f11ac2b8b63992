#!/bin/bash
# build-fixtures.sh OUT BUILD: the packages of the rpm and zypper tests,
# built with rpmbuild from tests/rpm and spec-templates.
#   OUT/pki            CA (trusted by the tests) and the vendor signing key
#   OUT/monitor        the long-running user of libdemo
#   OUT/tracer         holds a process under ptrace, as a debugger would
#   OUT/root/good      libdemo 1.0-1 and 1.0-2, ulp (packaging/),
#                      test-base,
#                      demo-livepatches 1 and 2 (signed), for a root (/usr)
#   OUT/root/tampered, OUT/root/unsigned: demo-livepatches 1, spoilt
#   OUT/root/broken    demo-livepatches 3, signed, that no process can load
#   OUT/host/good      the same set, relocated under OUT/hostfs (for rpm
#                      without --root: the host's /usr stays untouched)
#   OUT/repo           createrepo_c repository of OUT/root/good
#   OUT/catalog-rpms   libdemo 1.0-1 to 1.0-5, for the catalog tests
set -euo pipefail
OUT=$1 BUILD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
rm -rf "$OUT" && mkdir -p "$OUT/home"
export HOME=$OUT/home
{
  cat "$TOP/macros.ulp"
  echo "%_ulp_tool $BUILD/ulp"
  echo "%_ulp_helper $BUILD/ulp_post_hook"
} >"$HOME/.rpmmacros"

W=$OUT
source "$TOP/tests/pki.bash"
pki_setup >/dev/null

gcc -O2 -Wall -Werror -pthread -o "$OUT/monitor" "$HERE/monitor.c" \
  -L"$BUILD/tests/v1" -l:libdemo.so.1
gcc -O2 -Wall -Werror -o "$OUT/tracer" "$HERE/tracer.c"

# rpmb SPEC DEST [rpmbuild options]: builds SPEC's binary packages into DEST.
rpmb() {
  local spec=$1 dest=$2
  shift 2
  local top
  top=$(mktemp -d "$OUT/rpmbuild.XXXX")
  mkdir -p "$top/SOURCES" "$dest"
  cp "$TOP/tests/targets/libdemo.c" "$top/SOURCES/"
  rpmbuild -bb --nodeps --quiet --define "_topdir $top" "$@" "$spec" >/dev/null
  find "$top/RPMS" -name '*.rpm' -exec mv {} "$dest/" \;
  rm -rf "$top"
}

# repo DIR RPM...: a createrepo_c repository of copies of RPMs.
repo() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cp "$@" "$dir/"
  createrepo_c -q "$dir" >/dev/null
}

# livepatch DEST N [rpmbuild options]: demo-livepatches N through the
# authoring flow of spec-templates, started like a maintainer's checkout
# from the catalog kept in git (catalog/libdemo.catalog): make download
# from DEST/libdemo-repo, make rpm; a container for every libdemo build.
livepatch() {
  local dest=$1 n=$2
  shift 2
  local a
  a=$(mktemp -d "$OUT/author.XXXX")
  cp "$TOP/spec-templates/Makefile" "$TOP/spec-templates/livepatches.spec.in" \
    "$TOP/spec-templates/config.mk" "$TOP/catalog/libdemo.catalog" "$a/"
  sed -i "s/^VERSION = .*/VERSION = $n/" "$a/config.mk"
  cp "$HERE/livepatch$n.c" "$a/livepatch.c"
  cp "$HERE/livepatch$n.map" "$a/livepatch.map"
  local tools=(ULP="$BUILD/ulp" ULP_CATALOG="$BUILD/ulp-catalog")
  make -s -C "$a" download "${tools[@]}" REPO="file://$dest/libdemo-repo" >/dev/null
  make -s -C "$a" rpm "${tools[@]}" RPMBUILD_FLAGS="--quiet ${*:+$(printf "%q " "$@")}" >/dev/null
  find "$a/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "${LP_DEST:-$dest}/" \;
  rm -rf "$a"
}

# variant DEST [rpmbuild options]: the whole set of packages.
variant() {
  local dest=$1
  shift
  # The project's own spec, packaging this build: the ulp package every
  # livepatch package requires.  test-base stands for the base system and
  # provides the libraries the tool links to.
  rpmb "$TOP/packaging/ulp.spec" "$dest" --define "ulp_prebuilt $BUILD" \
    --define "ulp_source $TOP" "$@"
  local base_provides
  base_provides=$(rpm -qpR "$dest"/ulp-[0-9]*.rpm | grep -v '^rpmlib(' | tr '\n' ' ')
  rpmb "$HERE/test-base.spec" "$dest" --define "base_provides $base_provides" "$@"
  rpmb "$HERE/libdemo.spec" "$dest" --define "demo_release 1" "$@"
  rpmb "$HERE/libdemo.spec" "$dest" --define "demo_release 2" "$@"
  repo "$dest/libdemo-repo" "$dest"/libdemo-1.0-*.rpm
  local sign=(--define "ulp_signing_key $OUT/pki/rsa.key" --define "ulp_signing_cert $OUT/pki/rsa.pem")
  livepatch "$dest" 1 "${sign[@]}" "$@"
  livepatch "$dest" 2 "${sign[@]}" "$@"
}

variant "$OUT/root/good"
mkdir -p "$OUT/root/tampered" "$OUT/root/unsigned" "$OUT/root/broken"
ULP_REAL=$BUILD/ulp LP_DEST=$OUT/root/tampered livepatch "$OUT/root/good" 1 \
  --define "ulp_signing_key $OUT/pki/rsa.key" --define "ulp_signing_cert $OUT/pki/rsa.pem" \
  --define "_ulp_tool $HERE/tamper-ulp"
LP_DEST=$OUT/root/unsigned livepatch "$OUT/root/good" 1
LP_DEST=$OUT/root/broken livepatch "$OUT/root/good" 3 \
  --define "ulp_signing_key $OUT/pki/rsa.key" --define "ulp_signing_cert $OUT/pki/rsa.pem"
variant "$OUT/host/good" --define "_prefix $OUT/hostfs/usr" --define "_datadir $OUT/hostfs/usr/share" \
  --define "_rpmmacrodir $OUT/hostfs/usr/lib/rpm/macros.d"
repo "$OUT/repo" "$OUT"/root/good/*.rpm

# Five released builds of libdemo, for the catalog tests.
mkdir -p "$OUT/catalog-rpms"
cp "$OUT"/root/good/libdemo-1.0-*.rpm "$OUT/catalog-rpms/"
for rel in 3 4 5; do
  rpmb "$HERE/libdemo.spec" "$OUT/catalog-rpms" --define "demo_release $rel"
done
