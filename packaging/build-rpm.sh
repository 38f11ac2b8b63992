#!/bin/bash
# build-rpm.sh OUT VERSION: the project's packages (packaging/ulp.spec) from
# this tree into OUT.  rpm checks BuildRequires against its own database;
# where that database does not know the build tools (Debian's rpm, whose
# compilers come from dpkg), they are checked on PATH instead and rpmbuild
# runs with --nodeps, which this says.
set -euo pipefail
OUT=$1 VERSION=$2
TOP=$(cd "$(dirname "$0")/.." && pwd)
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES" "$OUT"
tar -C "$TOP" --transform "s|^|ulp-$VERSION/|" --exclude-vcs \
  --exclude='./build*' -czf "$top/SOURCES/ulp-$VERSION.tar.gz" .
nodeps=()
if ! rpm -q --whatprovides gcc make >/dev/null 2>&1; then
  for tool in gcc make; do
    command -v "$tool" >/dev/null || { echo "build-rpm: $tool not found" >&2; exit 1; }
  done
  echo "build-rpm: rpm's database does not know gcc and make (they come from dpkg here); found them on PATH, building with --nodeps"
  nodeps=(--nodeps)
fi
rpmbuild -bb "${nodeps[@]}" --define "_topdir $top" --define "ulp_version $VERSION" \
  "$TOP/packaging/ulp.spec"
find "$top/RPMS" -name '*.rpm' -exec mv {} "$OUT/" \;
ls "$OUT"
