#!/bin/bash
# source.sh CACHE: Debian 12's openssl source package, unpacked under
# CACHE/src (once; later calls reuse it), through a private apt
# configuration (deb-src lines of the machine's own archive), never
# touching the machine's apt setup.  Prints the unpacked source folder.
# The version is pinned (OPENSSL_SOURCE_VERSION overrides): the archive
# does not always carry the .dsc of the newest security upload.
set -euo pipefail
cache=$1
version=${OPENSSL_SOURCE_VERSION:-3.0.20-1~deb12u2}
mkdir -p "$cache/apt/lists/partial" "$cache/src"
upstream=${version%-*}
if [ -d "$cache/src/openssl-$upstream" ]; then
  echo "$cache/src/openssl-$upstream"
  exit 0
fi
uri=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
[ -n "$uri" ] || { echo "source.sh: no Debian archive in the apt sources" >&2; exit 1; }
security=${uri%/debian}/debian-security
cat >"$cache/apt/sources.list" <<LIST
deb-src $uri bookworm main
deb-src $uri bookworm-updates main
deb-src $security bookworm-security main
LIST
apt_private=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=-
  -o "Dir::State::Lists=$cache/apt/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
command -v dpkg-source >/dev/null || apt-get install -y -qq dpkg-dev >/dev/null
apt-get -qq "${apt_private[@]}" update >&2
(cd "$cache/src" && apt-get -qq "${apt_private[@]}" source "openssl=$version" >&2)
[ -d "$cache/src/openssl-$upstream" ] || { echo "source.sh: openssl $version not unpacked" >&2; exit 1; }
echo "$cache/src/openssl-$upstream"
