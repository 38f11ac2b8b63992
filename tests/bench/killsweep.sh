#!/usr/bin/env bash
# make bench, part 3: the tool killed (SIGKILL) at each of its ptrace and
# pwrite64 (writes to /proc/PID/mem) system calls in turn, by strace's
# fault injection (strace -e inject=CALL:signal=KILL:when=N), during the
# first apply on a fresh target and during a revert: every instant where
# the tool acts on the target, in order, where kills.sh picks instants at
# random.  The target: 4 threads spinning in the patched library, its main
# thread asleep.  After each kill the target must be alive and untraced,
# its state readable (ulp check), and the next triggers must patch it and
# revert it.
# Environment: ULP_BUILD; BENCH_SWEEP_CALLS ("ptrace pwrite64").  Skipped
# (with a note) without strace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${ULP_BUILD:-$here/../../build}" && pwd)
bench=$build/bench
ulp=$build/ulp
calls=${BENCH_SWEEP_CALLS:-ptrace pwrite64}

if ! command -v strace >/dev/null; then
  echo "kill sweep: skipped (no strace)"
  exit 0
fi
make -s -C "$here" OUT="$bench"
source "$here/../scratch.sh"
export ULP_TRUST_DIR=$work/trust ULP_CONFIG=$work/ulp.conf ULP_RUN_DIR=$work/run
mkdir -p "$ULP_TRUST_DIR" "$ULP_RUN_DIR"
: >"$ULP_CONFIG"
cp "$bench/bench_patch.so" "$work/patch.so"
printf '%s\n@%s\nbench_step:bench_step_v2\n' "$work/patch.so" \
  "$bench/libbench.so.1" >"$work/patch.dsc"
"$ulp" packer "$work/patch.dsc" >/dev/null

start_target() {
  "$bench/bench_target" helpers 4 &
  target=$!
  pids+=("$target")
  for _ in $(seq 100); do
    grep -q libbench.so.1 "/proc/$target/maps" 2>/dev/null && return 0
    sleep 0.01
  done
  return 1
}

stop_target() {
  kill -9 "$target" 2>/dev/null || true
  wait "$target" 2>/dev/null || true
  pids=()
}

trigger() { "$ulp" trigger -q -p "$target" "$@" "$work/patch.so" 2>&1; }

# What is wrong with the target after a kill, or nothing.
verdict() {
  local s out rc=0
  kill -0 "$target" 2>/dev/null || { echo "target died"; return; }
  for _ in $(seq 50); do # a tracer's death reaches every thread soon
    grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/"$target"/task/*/status ||
      break
    sleep 0.01
  done
  for s in /proc/"$target"/task/*/status; do
    grep -q '^TracerPid:[[:space:]]*0$' "$s" || { echo "still traced"; return; }
  done
  out=$("$ulp" check -p "$target" "$work/patch.so" 2>&1) || rc=$?
  case $rc in
  0) ;;
  1)
    out=$(trigger) || { echo "next apply: $out"; return; }
    ;;
  *)
    echo "ulp check: $out"
    return
    ;;
  esac
  out=$(trigger --revert) || { echo "next revert: $out"; return; }
  out=$(trigger) || { echo "apply after: $out"; return; }
  kill -0 "$target" 2>/dev/null || echo "target died after the next triggers"
}

total=0
failures=0
t0=$(date +%s)
for mode in apply revert; do
  for call in $calls; do
    points=0
    bad=()
    for ((n = 1; n < 400; n++)); do
      start_target
      if [ $mode = revert ]; then
        trigger >/dev/null || { echo "kill sweep: setup apply failed" >&2; exit 1; }
      fi
      args=()
      [ $mode = revert ] && args=(--revert)
      rc=0
      ( # strace dies of the tool's SIGKILL: the subshell, not this shell, says so
        strace -f -qq -o /dev/null -e trace="$call" \
          -e inject="$call":signal=KILL:when="$n" \
          "$ulp" trigger -q -p "$target" "${args[@]}" "$work/patch.so"
        exit $?
      ) >/dev/null 2>&1 || rc=$?
      if [ $rc -ne 137 ]; then # the tool got past its last such call
        stop_target
        break
      fi
      points=$((points + 1))
      why=$(verdict)
      [ -z "$why" ] || bad+=("#$n: $why")
      stop_target
    done
    total=$((total + points))
    failures=$((failures + ${#bad[@]}))
    echo "kill sweep, $mode, killed at each of its $points $call calls:" \
      "${#bad[@]} left the target broken"
    for b in "${bad[@]+"${bad[@]}"}"; do
      echo "  $b" | cut -c1-200
    done
  done
done
echo "kill sweep: $total kills in $(($(date +%s) - t0)) s, $failures failures"
[ "$failures" -eq 0 ]
