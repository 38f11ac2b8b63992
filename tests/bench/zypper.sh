#!/usr/bin/env bash
# make bench, part 2: from the start of `zypper install demo-livepatches`
# to the last of BENCH_PROCS (200) processes patched, in a throwaway root
# with the rpm plugin.  The plugin patches before rpm returns, so zypper's
# wall time covers every process; each run checks that all were patched.
# Also timed: zypper update (v1 replaced by v2), zypper remove, and the
# same install with no process running (zypper's own cost).
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
pkg=$build/tests/rpm
procs=${BENCH_PROCS:-200}
runs=${BENCH_ZYPPER_RUNS:-5}
source "$top/tests/rpm/env.sh"

source "$top/tests/scratch.sh"

private_host "$work" "$build" "$top"
echo "require_signature = yes" >"$ULP_CONFIG"

root=$work/root
make_root "$root"
zyp() { zypper --root "$root" --non-interactive --no-gpg-checks "$@"; }
zyp addrepo "file://$pkg/repo" demo >/dev/null
zyp install --no-recommends test-base ulp libdemo-1.0-2 >/dev/null 2>&1

ms() { date +%s%N; }
# timed LABEL COMMAND...: milliseconds of COMMAND; its output in $work/out
timed() {
  local t0 t1
  t0=$(ms)
  "$@" >"$work/out" 2>&1
  t1=$(ms)
  echo $(((t1 - t0) / 1000000))
}
expect_patched() { # COUNT WORD
  local n
  n=$(grep -c "): SUCCESS " "$work/out" || true)
  if [ "$n" -ne "$1" ]; then
    echo "expected $1 processes $2, saw $n:" >&2
    tail -5 "$work/out" >&2
    exit 1
  fi
}

empty_install=() install=() update=() remove=()
for ((r = 0; r < runs; r++)); do
  empty_install+=("$(timed zyp install demo-livepatches-1)")
  zyp remove demo-livepatches >/dev/null 2>&1
done

for ((i = 0; i < procs; i++)); do
  LD_LIBRARY_PATH=$root/usr/lib64 \
    "$pkg/monitor" "$work/m$i.log" 200000 &
  pids+=($!)
done
sleep 2

for ((r = 0; r < runs; r++)); do
  install+=("$(timed zyp install demo-livepatches-1)")
  expect_patched "$procs" patched
  update+=("$(timed zyp update demo-livepatches)")
  expect_patched "$procs" "replaced"
  remove+=("$(timed zyp remove demo-livepatches)")
  expect_patched "$procs" reverted
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { printf '%s\n' "$@" | sort -n | tail -1; }
printf '\nzypper with the rpm plugin, %d processes, %d runs (ms):\n' "$procs" "$runs"
printf '  %-44s median %5s  max %5s\n' \
  "zypper install, no process running" "$(median "${empty_install[@]}")" "$(max "${empty_install[@]}")" \
  "zypper install demo-livepatches-1" "$(median "${install[@]}")" "$(max "${install[@]}")" \
  "zypper update (v1 replaced by v2)" "$(median "${update[@]}")" "$(max "${update[@]}")" \
  "zypper remove (all reverted)" "$(median "${remove[@]}")" "$(max "${remove[@]}")"
