#!/usr/bin/env bash
# make bench, part 2: the tool killed (SIGKILL) at BENCH_KILLS (500) random
# instants, 0 to 24 ms after the start of a trigger (apply or revert), on a
# target whose 4 threads call the patched function in a tight loop and
# check every result: tests/45-kill.bats, "killed at N random instants"
# (make check runs it with 30).  After every kill the target must be
# alive, untraced, running entirely old or entirely new code, and the next
# trigger must work; at the end the patch area must be the library's own.
#
# Prints the kills done, how many hit a tool still running (seen from
# outside by exitwatch, through the kernel's process events; root only,
# else n/a), the target's fate, the failures and the time taken.
# Environment: ULP_BUILD (the build under test), BENCH_KILLS (500).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${ULP_BUILD:-$top/build}" && pwd)
kills=${BENCH_KILLS:-500}

make -s -C "$here" OUT="$build/bench"
source "$here/../scratch.sh"

watcher=""
"$build/bench/exitwatch" "$build/ulp" >"$work/exits" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do
  if grep -q '^ready' "$work/exits"; then
    watcher=${pids[-1]}
    break
  fi
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.05
done

t0=$(date +%s%N)
rc=0
ULP_KILLS=$kills ULP_BUILD=$build bats --tap -f 'random instants' \
  "$top/tests/45-kill.bats" >"$work/tap" 2>&1 || rc=$?
t1=$(date +%s%N)
if [ -n "$watcher" ]; then
  kill -TERM "$watcher"
  wait "$watcher" 2>/dev/null || true
fi

python3 - "$work/tap" "$work/exits" "$kills" "$rc" "$t0" "$t1" "$watcher" <<'PY'
import sys
tap, exits, kills, rc, t0, t1, watcher = sys.argv[1:8]
kills, rc = int(kills), int(rc)
lines = open(tap).read().splitlines()
ok = sum(l.startswith("ok ") for l in lines)
bad = sum(l.startswith("not ok ") for l in lines)
secs = (int(t1) - int(t0)) / 1e9
print(f"tool killed at random instants: {kills} kills (ULP_KILLS={kills} "
      f"bats -f 'random instants' tests/45-kill.bats), {secs:.0f} s")
if rc == 0 and ok == 1 and bad == 0:
    print(f"  target: alive, untraced and consistent after each of the {kills} "
          "kills (every call of its 4 threads checked: mismatches=0 "
          "unexpected=0), patchable by the next trigger, patch area "
          "restored byte for byte at the end")
    print("  failures: 0")
else:
    print(f"  FAILED (bats exit {rc}, {ok} ok, {bad} not ok):")
    for l in lines[-30:]:
        print("    " + l)
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0
if watcher:
    killed, done, erred = [], [], []
    lost = unnamed = 0
    for l in open(exits):
        f = l.split()
        if f[0] == "lost":
            lost = int(f[1])
        elif f[0] == "unnamed":
            unnamed = int(f[1])
        elif len(f) == 4 and f[1] == "trigger":
            ms = int(f[2]) / 1000
            if f[3] == "signal=9":
                killed.append(ms)
            elif f[3] == "exit=0":
                done.append(ms)
            else:
                erred.append((ms, f[3]))
    killed.sort()
    done.sort()
    print(f"  of {len(killed) + len(done) + len(erred)} triggers: "
          f"{len(killed)} killed while running, {len(done)} finished first "
          f"(the test's own final triggers among them), {len(erred)} "
          "ended in an error")
    if killed:
        print(f"  killed after (ms from exec): p10 {pct(killed,10):.1f}  "
              f"p50 {pct(killed,50):.1f}  p90 {pct(killed,90):.1f}  "
              f"max {killed[-1]:.1f}")
    if done:
        print(f"  a trigger that finished took (ms): p50 {pct(done,50):.1f}  "
              f"p90 {pct(done,90):.1f}")
    if lost:
        print(f"  (the event socket dropped {lost} times: counts are low)")
else:
    print("  kills that hit a running tool: n/a (needs root and the process "
          "events connector)")
sys.exit(0 if rc == 0 and bad == 0 and ok == 1 else 1)
PY
