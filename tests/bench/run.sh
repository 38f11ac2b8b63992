#!/usr/bin/env bash
# make bench: trigger latency (an apply, a revert) against many processes,
# for the tool under test and, side by side, a baseline build:
#   idle   BENCH_IDLE (200) processes asleep for good
#   quiet  BENCH_QUIET (1000) processes that sleep and wake every
#          BENCH_QUIET_MS (1000) ms to call into the target library
#   busy   BENCH_BUSY (20) processes x BENCH_THREADS (4) threads spinning
#          in the target library
# each with the targets started with the runtime preloaded
# (LD_PRELOAD=libpulp.so.0 of the build under test) and without it.
#
# Environment:
#   ULP_BUILD       the build under test (default <repo>/build)
#   BENCH_BASELINE  a build to compare with in the same run, e.g. the
#                   previous release (make bench BENCH_BASELINE=/path/to/build;
#                   the Makefile passes it on, and works without it).  Its
#                   targets get ITS libpulp.so.0 preloaded; as a baseline
#                   needs its runtime in the targets, its "not preloaded"
#                   column is n/a, unless BENCH_BASELINE_NEEDS_RUNTIME=0.
#                   Unset: the tool under test alone.
#   BENCH_RUNS      applies, and as many reverts, per case (10)
#   BENCH_ROWS      which rows, in order (default "idle quiet busy")
# Prints the details of each case as it goes, then a Markdown table of the
# trigger wall times (median / p90), ready for the README, and one of the
# first apply on targets never patched (the rows' other triggers find the
# container mapped already).  The stop times the tool reports (--timing)
# count from when it handles a process; every target is interrupted when
# the trigger starts, so the quiet targets also report how late they woke:
# what a held process notices.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${ULP_BUILD:-$here/../../build}" && pwd)
bench=$build/bench
idle=${BENCH_IDLE:-200}
quiet=${BENCH_QUIET:-1000}
quiet_ms=${BENCH_QUIET_MS:-1000}
busy=${BENCH_BUSY:-20}
threads=${BENCH_THREADS:-4}
runs=${BENCH_RUNS:-10}
rows=${BENCH_ROWS:-idle quiet busy}
baseline=${BENCH_BASELINE:-}
base_needs_runtime=${BENCH_BASELINE_NEEDS_RUNTIME:-1}

make -s -C "$here" OUT="$bench"
source "$here/../scratch.sh"

tools=(new)
tooldir_new=$build
if [ -n "$baseline" ]; then
  baseline=$(cd "$baseline" && pwd)
  [ -x "$baseline/ulp" ] || { echo "bench: no ulp in $baseline" >&2; exit 1; }
  tools+=(base)
fi
tooldir() { if [ "$1" = base ]; then echo "$baseline"; else echo "$tooldir_new"; fi; }

# Every thread of the largest row (ulimit -u counts threads), and the
# host's, must fit.
most=$((idle > quiet ? idle : quiet))
most=$((most > busy * threads ? most : busy * threads))
have=$(ps -eLo lwp --no-headers | wc -l)
room=$(ulimit -u)
[ "$room" = unlimited ] && room=$(cat /proc/sys/kernel/threads-max)
pid_max=$(cat /proc/sys/kernel/pid_max)
for limit in "$room" "$pid_max"; do
  if ((have + most + 100 > limit)); then
    echo "bench: $most more processes do not fit (now $have; ulimit -u $room," \
      "pid_max $pid_max)" >&2
    exit 1
  fi
done

# Triggers run as a host would: signed container, signatures enforced.
# One CA for both tools; each packs and signs its own container.
export ULP_TRUST_DIR=$work/trust ULP_CONFIG=$work/ulp.conf
mkdir -p "$ULP_TRUST_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" \
  -out "$ULP_TRUST_DIR/ca.pem" -subj "/CN=Bench CA" -days 2 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/vendor.key" \
  -out "$work/vendor.csr" -subj "/CN=Bench vendor" 2>/dev/null
openssl x509 -req -in "$work/vendor.csr" -CA "$ULP_TRUST_DIR/ca.pem" \
  -CAkey "$work/ca.key" -CAcreateserial -days 2 -out "$work/vendor.pem" \
  -extfile <(echo "extendedKeyUsage=codeSigning") 2>/dev/null
echo "require_signature = yes" >"$ULP_CONFIG"
for t in "${tools[@]}"; do
  mkdir -p "$work/$t/run"
  cp "$bench/bench_patch.so" "$work/$t/patch.so"
  printf '%s\n@%s\nbench_step:bench_step_v2\n' "$work/$t/patch.so" \
    "$bench/libbench.so.1" >"$work/$t/patch.dsc"
  "$(tooldir "$t")/ulp" packer "$work/$t/patch.dsc" >/dev/null
  "$(tooldir "$t")/ulp" sign --key "$work/vendor.key" --cert "$work/vendor.pem" \
    "$work/$t/patch.so" >/dev/null
done

# start_targets COUNT PRELOAD ARGS...: COUNT bench_targets, PRELOAD the
# runtime to preload or ""; returns once each maps the target library.
start_targets() {
  local count=$1 preload=$2 i left
  shift 2
  : >"$work/targets.out"
  for ((i = 0; i < count; i++)); do
    if [ -n "$preload" ]; then
      LD_PRELOAD=$preload "$bench/bench_target" "$@" >>"$work/targets.out" &
    else
      "$bench/bench_target" "$@" >>"$work/targets.out" &
    fi
    pids+=($!)
  done
  for ((i = 0; i < 500; i++)); do
    left=$(printf '/proc/%s/maps\n' "${pids[@]}" |
      xargs grep -L -F libbench.so.1 2>&1 | wc -l) || true
    [ "$left" -eq 0 ] && break
    sleep 0.02
  done
  [ "$left" -eq 0 ] || { echo "bench: $left targets never started" >&2; exit 1; }
  sleep 1 # spinners spinning, sleepers asleep
  if [ "$1" = quiet ]; then
    kill -USR1 "${pids[@]}" # their lateness counts from here
    sleep 1
  fi
}

# stop_targets CASE: ends the targets; those that died meanwhile make
# the case a failure.
stop_targets() {
  local dead=0 p
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || dead=$((dead + 1))
  done
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
  sed -n 's/^late_max_us=//p' "$work/targets.out" >"$work/late.$1"
  if [ "$dead" -gt 0 ]; then
    printf '%s%s of %s targets died' "$(cat "$work/failed.$1" 2>/dev/null |
      sed 's/$/; /')" "$dead" "${count[${1%%.*}]}" >"$work/failed.$1"
  fi
}

# measure TOOL CASE EXPECTED: RUNS applies and RUNS reverts, each timed by
# the timer helper at nice -20, wall times into $work/walls.CASE and
# per-process stop times into $work/stops.CASE.  Only the targets count
# (other processes of the host that map the library may take part): a
# trigger that does not patch every one of them stops the case, the
# reason in $work/failed.CASE.
measure() {
  local t=$1 case=$2 expected=$3 out mode args r ok
  local ulp
  ulp=$(tooldir "$t")/ulp
  printf '%s\n' "${pids[@]}" | sort >"$work/pids"
  : >"$work/walls.$case"
  : >"$work/cpu.$case"
  : >"$work/stops.$case"
  for ((r = 0; r < runs; r++)); do
    for mode in apply revert; do
      args=()
      [ $mode = revert ] && args=(--revert)
      out=$(ULP_RUN_DIR=$work/$t/run nice -n -20 "$bench/timer" "$ulp" trigger \
        --timing "${args[@]}" "$work/$t/patch.so" 2>"$work/wall") || true
      ok=$(sed -n 's/^.* (pid \([0-9]*\)[,)][^:]*: SUCCESS .*/\1/p' <<<"$out" |
        sort -u | comm -12 - "$work/pids" | wc -l)
      if [ "$ok" -ne "$expected" ]; then
        echo "bench: $case, $mode $((r + 1)): $ok of $expected targets patched" >&2
        { grep -v '^timing' <<<"$out" | grep -v SUCCESS | head -5 >&2; } || true
        { grep -v '^wall_us\|^cpu_us' "$work/wall" | head -5 >&2; } || true
        echo "$mode $((r + 1)): $ok of $expected targets patched" >"$work/failed.$case"
        return 0
      fi
      sed -n 's/^wall_us=//p' "$work/wall" >>"$work/walls.$case"
      sed -n 's/^cpu_us=//p' "$work/wall" >>"$work/cpu.$case"
      awk 'NR == FNR { ours[$1] = 1; next }
           /^timing: pid / && ($3 in ours) {
             sub("stopped_us=", "", $4); sub("thread_max_us=", "", $5); print $4, $5 }' \
        "$work/pids" - <<<"$out" >>"$work/stops.$case"
    done
  done
}

# floor ROW: what stopping the row's targets costs at the least on this
# machine (tests/bench/floor.c), median of 5, for the table.
floor() {
  local r
  for ((r = 0; r < 5; r++)); do
    nice -n -20 "$bench/floor" "${pids[@]}" | sed -n 's/^floor_us=//p'
  done | sort -n | sed -n 3p >"$work/floor.$1"
  echo "$1: seizing, interrupting, reading a page of and detaching each target, nothing else (tests/bench/floor.c): $(($(cat "$work/floor.$1") / 1000)) ms (median of 5)"
}

detail() { # CASE DESCRIPTION
  python3 - "$work/walls.$1" "$work/stops.$1" "$2" "$work/cpu.$1" "$work/late.$1" <<'PY'
import sys
first = [int(x) / 1000 for x in open(sys.argv[1])]
cpu = [l.split() for l in open(sys.argv[4])]
walls = sorted(first)
user = sorted(int(u) / 1000 for u, s in cpu) or [0]
system = sorted(int(s) / 1000 for u, s in cpu) or [0]
cpu = cpu or [["0", "0"]]
stops = [l.split() for l in open(sys.argv[2])]
held = sorted(int(a) / 1000 for a, b in stops) or [0]
thread = sorted(int(b) / 1000 for a, b in stops) or [0]
def pct(v, p): return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print(f"{sys.argv[3]}")
print(f"  trigger wall time (ms): min {walls[0]:.1f}  median {pct(walls,50):.1f}  p90 {pct(walls,90):.1f}  max {walls[-1]:.1f}  ({len(walls)} triggers)")
print(f"  the tool's CPU time (ms): user median {pct(user,50):.1f}  system median {pct(system,50):.1f}")
print(f"  first apply on the fresh targets (ms): wall {first[0]:.1f}, CPU user {int(cpu[0][0])/1000:.1f} system {int(cpu[0][1])/1000:.1f}")
print(f"  process fully stopped, as the tool times it (ms): p50 {pct(held,50):.3f}  p99 {pct(held,99):.3f}  max {held[-1]:.3f}  ({len(stops)} process stops)")
print(f"  longest single-thread hold, as the tool times it (ms): p50 {pct(thread,50):.3f}  p99 {pct(thread,99):.3f}  max {thread[-1]:.3f}")
late = sorted(int(x) / 1000 for x in open(sys.argv[5]))
if late:
    print(f"  as the targets saw it, their latest wake-up (ms): p50 {pct(late,50):.1f}  p99 {pct(late,99):.1f}  max {late[-1]:.1f}  ({len(late)} processes)")
PY
}

echo "machine: $(nproc) cores, $(uname -r), $have threads running," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$runs applies + $runs reverts per case"
echo "under test: $build${baseline:+; baseline: $baseline}"
echo "container: $(stat -c %s "$work/new/patch.so") bytes, RSA-2048 signature, signatures enforced"

# Verification alone: ulp verify, start to exit.
for t in "${tools[@]}"; do
  : >"$work/verify.$t"
  for ((r = 0; r < 20; r++)); do
    nice -n -20 "$bench/timer" "$(tooldir "$t")/ulp" verify --timing \
      "$work/$t/patch.so" >>"$work/verify.$t" 2>&1
  done
  python3 - "$work/verify.$t" "$t" <<'PY'
import sys
lines = open(sys.argv[1]).read().split()
def stat(key):
    v = sorted(int(x.split("=")[1]) / 1000 for x in lines if x.startswith(key))
    return f"median {v[len(v)//2]:.2f} ms, max {v[-1]:.2f} ms" if v else "n/a"
who = "under test" if sys.argv[2] == "new" else "baseline"
print(f"{who}: signature check, first in a process (OpenSSL start-up, trust store, chain, signature): {stat('verify_us')}")
print(f"{who}: ulp verify as a whole command: {stat('wall_us')} (20 runs)")
PY
done

declare -A title count targs
title[idle]="$idle idle processes"
count[idle]=$idle
targs[idle]="0"
title[quiet]="$quiet quiet processes (wake every ${quiet_ms} ms)"
count[quiet]=$quiet
targs[quiet]="quiet $quiet_ms"
title[busy]="$busy busy processes x $threads threads spinning in the target library"
count[busy]=$busy
targs[busy]="$threads"

failed=0
for row in $rows; do
  [ -n "${count[$row]:-}" ] || { echo "bench: no row $row" >&2; exit 1; }
  for t in "${tools[@]}"; do
    for pre in with without; do
      case=$row.$t.$pre
      if [ "$t" = base ] && [ "$pre" = without ] && [ "$base_needs_runtime" = 1 ]; then
        continue
      fi
      preload=""
      [ $pre = with ] && preload=$(tooldir "$t")/libpulp.so.0
      # shellcheck disable=SC2086
      start_targets "${count[$row]}" "$preload" ${targs[$row]}
      measure "$t" "$case" "${count[$row]}"
      if [ "$t" = new ] && [ "$pre" = without ]; then
        floor "$row"
      fi
      stop_targets "$case"
      who="under test"
      [ "$t" = base ] && who="baseline"
      how="runtime preloaded"
      [ $pre = without ] && how="no runtime"
      if [ -e "$work/failed.$case" ]; then
        echo "${title[$row]}, $who, $how: FAILED: $(cat "$work/failed.$case")"
        failed=1
      else
        detail "$case" "${title[$row]}, $who, $how"
      fi
    done
  done
done

# The table: one line per row, a column per tool and runtime.
python3 - "$work" "$runs" "${#tools[@]}" "$baseline" "$rows" \
  "${title[idle]}" "${title[quiet]}" "${title[busy]}" <<'PY'
import os, sys
work, runs, ntools, baseline, rows = sys.argv[1:6]
titles = dict(zip(["idle", "quiet", "busy"], sys.argv[6:9]))
def pct(v, p): return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
def cell(case, first=False):
    f = os.path.join(work, "walls." + case)
    if os.path.exists(os.path.join(work, "failed." + case)):
        return "FAILED: " + open(os.path.join(work, "failed." + case)).read().strip()
    if not os.path.exists(f):
        return "n/a"
    w = [int(x) / 1000 for x in open(f)]
    if first:
        return f"{w[0]:.0f}"
    w.sort()
    return f"{pct(w, 50):.0f} / {pct(w, 90):.0f}"
cols = [("new", "with", "ulp, preloaded"), ("new", "without", "ulp, not preloaded")]
if int(ntools) > 1:
    cols += [("base", "with", "baseline, preloaded"), ("base", "without", "baseline, not preloaded")]
print()
print(f"Trigger wall time in ms, median / p90 of {2*int(runs)} triggers ({runs} applies, {runs} reverts):")
print()
print("| targets | " + " | ".join(c[2] for c in cols) + " |")
print("|---|" + "---|" * len(cols))
for row in rows.split():
    print(f"| {titles[row]} | " + " | ".join(cell(f"{row}.{t}.{p}") for t, p, _ in cols) + " |")
print()
print("The first of them, the first apply on targets never patched (the tool under test maps")
print("the container and the state into each" + ("; the baseline's runtime dlopens the container):" if int(ntools) > 1 else "):"))
print()
print("| targets | " + " | ".join(c[2] for c in cols) + " |")
print("|---|" + "---|" * len(cols))
for row in rows.split():
    print(f"| {titles[row]} | " + " | ".join(cell(f"{row}.{t}.{p}", True) for t, p, _ in cols) + " |")
if int(ntools) > 1:
    print()
    print(f"baseline: {baseline}")
PY
exit "$failed"
