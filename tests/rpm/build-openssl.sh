#!/bin/bash
# build-openssl.sh OUT BUILD PKG: the packages of the OpenSSL flow, through
# the same steps a distribution and a livepatch author take:
#   OUT/libopenssl3-*.rpm   two releases of the livepatchable OpenSSL
#                           (real-targets/openssl/package.sh)
#   OUT/author/NAME-N/      the authoring folders of openssl-livepatches
#                           (libssl) and openssl-livepatches-libcrypto, as
#                           released at version N: make download from the
#                           repository of both releases, make rpm, signed
#                           with the vendor key of PKG/pki
#   OUT/repo                createrepo_c repository of it all, with ulp and
#                           test-base of PKG/root/good (build-fixtures.sh)
#   OUT/bin                 tls_server and tls_client
# openssl-livepatches 1 fixes CVE-2024-5535 in libssl; 2 also requires
# openssl-livepatches-libcrypto 2, which fixes CVE-2023-0286.
set -euo pipefail
OUT=$1 BUILD=$2 PKG=$3
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SRC=$TOP/real-targets/openssl
rm -rf "$OUT" && mkdir -p "$OUT/home" "$OUT/bin"
export HOME=$OUT/home
{
  cat "$TOP/macros.ulp"
  echo "%_ulp_tool $BUILD/ulp"
} >"$HOME/.rpmmacros"

"$SRC/package.sh" "$OUT/targets"
for program in tls_server tls_client; do
  gcc -O2 -Wall -Wextra -Werror -pthread -o "$OUT/bin/$program" \
    "$SRC/$program.c" -lssl -lcrypto
done

# author NAME N: NAME's package as released at version N.
author() {
  local name=$1 n=$2 a=$OUT/author/$1-$2
  mkdir -p "$a"
  cp "$TOP/spec-templates/Makefile" "$TOP/spec-templates/livepatches.spec.in" \
    "$SRC/$name"/* "$a/"
  local tools=(ULP="$BUILD/ulp" ULP_CATALOG="$BUILD/ulp-catalog" VERSION="$n")
  make -s -C "$a" download "${tools[@]}" REPO="file://$OUT/targets/repo" \
    >/dev/null 2>&1
  make -s -C "$a" rpm "${tools[@]}" RPMBUILD_FLAGS="--quiet \
    --define 'ulp_signing_key $PKG/pki/rsa.key' \
    --define 'ulp_signing_cert $PKG/pki/rsa.pem'" >/dev/null
  find "$a/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$OUT/repo/" \;
}

mkdir -p "$OUT/repo"
cp "$OUT"/targets/libopenssl3-*.rpm "$PKG"/root/good/ulp-[0-9]*.rpm \
  "$PKG"/root/good/test-base-*.rpm "$OUT/repo/"
author openssl-livepatches 1
author openssl-livepatches 2
author openssl-livepatches-libcrypto 2
createrepo_c -q "$OUT/repo" >/dev/null
