#!/usr/bin/env bash
# make bench, part 3: catalog throughput.  BENCH_CATALOG_PKGS (50) releases
# of libdemo are built with rpmbuild and published with createrepo_c; then
# `ulp-catalog download` catalogs all of them from an empty catalog, over
# file:// and over http:// (a local python3 http.server), BENCH_CATALOG_RUNS
# (3) times each, and a run with nothing new is timed as well; then a
# catalog of 100,000 builds is listed, searched and added to.
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
npkgs=${BENCH_CATALOG_PKGS:-50}
runs=${BENCH_CATALOG_RUNS:-3}
source "$top/tests/scratch.sh"
source "$top/tests/rpm/env.sh"

export HOME=$work/home
rpm_home "$HOME" "$build" "$top"
mkdir -p "$work/repo" "$work/top/SOURCES"
cp "$top/tests/targets/libdemo.c" "$work/top/SOURCES/"
for ((i = 1; i <= npkgs; i++)); do
  rpmbuild -bb --nodeps --quiet --define "_topdir $work/top" \
    --define "demo_release $i" "$top/tests/rpm/libdemo.spec" >/dev/null
done
find "$work/top/RPMS" -name '*.rpm' -exec mv {} "$work/repo/" \;
createrepo_c -q "$work/repo" >/dev/null
size=$(du -sk "$work/repo" | cut -f1)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/repo" "$port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/repodata/repomd.xml" >/dev/null && break
  sleep 0.05
done

ms() { date +%s%N; }
download() { # URL
  "$build/ulp-catalog" download --repo "$1" --package libdemo \
    --library libdemo.so.1 --dest "$work/libs" --catalog "$work/c.catalog" >/dev/null
}
# timed URL FRESH: milliseconds of one download (FRESH: from nothing)
timed() {
  [ "$2" = fresh ] && rm -rf "$work/libs" "$work/c.catalog"
  local t0 t1
  t0=$(ms)
  download "$1"
  t1=$(ms)
  [ "$(grep -vc '^#' "$work/c.catalog")" -eq "$npkgs" ] || { echo "catalog incomplete" >&2; exit 1; }
  echo $(((t1 - t0) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '\ncatalog: %d packages (%d KiB in all), %d runs each:\n' "$npkgs" "$size" "$runs"
for url in "file://$work/repo" "http://127.0.0.1:$port"; do
  fresh=() again=()
  for ((r = 0; r < runs; r++)); do
    fresh+=("$(timed "$url" fresh)")
    again+=("$(timed "$url" again)")
  done
  m=$(median "${fresh[@]}")
  printf '  %-8s from empty: median %5d ms = %6.1f packages/s; nothing new: median %4d ms\n' \
    "${url%%:*}" "$m" "$(awk -v n="$npkgs" -v m="$m" 'BEGIN {print n * 1000 / m}')" "$(median "${again[@]}")"
done

# A catalog of BENCH_CATALOG_BIG (100,000) builds: list, lookup, and the
# download above into it (each new package rewrites the whole catalog).
big=${BENCH_CATALOG_BIG:-100000}
sum=sha256:$(printf '0%.0s' $(seq 64))
awk -v n="$big" -v sum="$sum" 'BEGIN { for (i = 0; i < n; i++)
    printf "libbig.so.1 %040x libbig 0:1.%d-%d x86_64 %s /usr/lib64/libbig.so.1\n", i * 7919 + 1, i % 1000, i / 1000, sum }' \
  >"$work/big.catalog"
# timed_ms COMMAND...: milliseconds of COMMAND, its output discarded
timed_ms() {
  local t0 t1
  t0=$(ms)
  "$@" >/dev/null
  t1=$(ms)
  echo $(((t1 - t0) / 1000000))
}
last_id=$(printf '%040x' $(((big - 1) * 7919 + 1)))
list_ms=$(timed_ms "$build/ulp-catalog" list "$work/big.catalog")
lookup_ms=$(timed_ms "$build/ulp-catalog" lookup "$last_id" "$work/big.catalog")
rm -rf "$work/libs"
cp "$work/big.catalog" "$work/c.catalog"
t0=$(ms)
download "file://$work/repo"
t1=$(ms)
[ "$(grep -vc '^#' "$work/c.catalog")" -eq $((big + npkgs)) ] || { echo "catalog incomplete" >&2; exit 1; }
add_ms=$(((t1 - t0) / 1000000))
printf '  %d entries: list %d ms, lookup %d ms; download of the %d packages into it %d ms (%.1f ms a package)\n' \
  "$big" "$list_ms" "$lookup_ms" "$npkgs" "$add_ms" "$(awk -v m="$add_ms" -v n="$npkgs" 'BEGIN {print m / n}')"
