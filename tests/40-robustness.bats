#!/usr/bin/env bats
# Threads, system calls, locks, and the exact code a patch leaves behind.
load helpers

@test "stress: threads calling the function through 300 apply/revert cycles" {
  patch_a
  patch_b
  start stress "$FIX/v1" 4 "original v1" "patch A" "patch B" >"$W/stress.out" 2>&1
  stress=$LAST
  for i in $(seq 100); do
    "$ULP" trigger -q -p "$stress" "$W/a.so"
    "$ULP" trigger -q -p "$stress" --revert-all=target "$W/b.so"
    "$ULP" trigger -q -p "$stress" --revert "$W/b.so"
  done
  kill -0 "$stress"
  kill -TERM "$stress"
  status=0
  wait "$stress" || status=$?
  run cat "$W/stress.out"
  assert_equal "$status" 0
  assert_output --regexp "^calls [1-9][0-9]*$"
}

@test "stress: the stack is consistent after the cycles" {
  patch_a
  patch_b
  start stress "$FIX/v1" 3 "original v1" "patch A" "patch B"
  for i in $(seq 50); do
    "$ULP" trigger -q -p "$LAST" "$W/a.so" "$W/b.so"
    "$ULP" trigger -q -p "$LAST" --revert "$W/a.so"
    "$ULP" trigger -q -p "$LAST" --revert "$W/b.so"
  done
  run "$ULP" patches -p "$LAST" --json
  assert_output --partial '"patches":[]'
  kill -0 "$LAST"
}

@test "blocked system calls never see EINTR or a short sleep" {
  patch_a
  : >"$W/report"
  start sleeper "$FIX/v1" "$W/report"
  sleep 0.3
  for i in $(seq 40); do
    "$ULP" trigger -q -p "$LAST" "$W/a.so"
    "$ULP" trigger -q -p "$LAST" --revert "$W/a.so"
  done
  sleep 0.7
  kill -0 "$LAST"
  run cat "$W/report"
  assert_output ""
}

@test "threads busy inside libc (malloc) are never borrowed; the patch still applies" {
  patch_a
  start libc_spinner "$FIX/v1" 3
  for i in $(seq 30); do
    run "$ULP" trigger -p "$LAST" "$W/a.so"
    assert_success
    run "$ULP" trigger -p "$LAST" --revert "$W/a.so"
    assert_success
  done
  kill -0 "$LAST"
}

@test "a patched call is two jumps: short jump into the pad, then the replacement" {
  patch_a
  start_loop "$FIX/v1"
  base=$(awk '/v1\/libdemo.so.1/ && $3 == "00000000" {split($1, r, "-"); print r[1]; exit}' "/proc/$LAST/maps")
  off=$(nm -D "$FIX/v1/libdemo.so.1" | awk '$3 == "demo_message" {print $1}')
  func=$(printf '%x' $((16#$base + 16#$off)))
  pad=$(printf '%x' $((16#$func - 14)))
  original=$(peek "$LAST" "$pad" 20)
  assert_equal "$original" "9090909090909090909090909090f30f1efa9090"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  patched=$(peek "$LAST" "$pad" 20)
  # pad: jmp *SLOT(%rip), NOPs; entry: endbr64, then jmp back 20 bytes
  assert_equal "${patched:0:4}" "ff25"
  assert_equal "${patched:12:16}" "9090909090909090"
  assert_equal "${patched:28:12}" "f30f1efaebec"
  # the slot, in the process's ulp-state mapping, holds the replacement
  slot=$(python3 -c "import sys; print('%x' % (int(sys.argv[1], 16) + 6 + int.from_bytes(bytes.fromhex(sys.argv[2]), 'little', signed=True)))" "$pad" "${patched:4:8}")
  state=$(awk '/memfd:ulp-state/ {split($1, r, "-"); print r[1] "-" r[2]; exit}' "/proc/$LAST/maps")
  [ $((16#$slot)) -ge $((16#${state%-*})) ] && [ $((16#$slot)) -lt $((16#${state#*-})) ] ||
    fail "slot $slot is outside the state mapping $state"
  target=$(python3 -c "import sys; print(hex(int.from_bytes(bytes.fromhex(sys.argv[1]), 'little')))" "$(peek "$LAST" "$slot" 8)")
  # the replacement, in the container's mapping (a memfd named ulp:a.so)
  cbase=$(awk '/memfd:ulp:a.so/ && $3 == "00000000" {split($1, r, "-"); print r[1]; exit}' "/proc/$LAST/maps")
  assert_equal "$((target))" "$((16#$cbase + $(symbol_value "$W/a.so" demo_message_a)))"
  "$ULP" trigger -q -p "$LAST" --revert "$W/a.so"
  assert_equal "$(peek "$LAST" "$pad" 20)" "$original"
}

@test "the main thread, which makes the tool's system calls, busy in the patched function: first applies, no crash" {
  patch_a
  local i pids=()
  # a first apply maps the container: every one of them injects calls
  for i in $(seq 25); do
    STRESS_MAIN=1 start stress "$FIX/v1" 1 "original v1" "patch A" >"$W/stress$i.out" 2>&1
    pids+=("$LAST")
    run "$ULP" trigger -q -p "$LAST" "$W/a.so"
    assert_success
  done
  sleep 0.2
  for i in $(seq 25); do
    assert_alive "${pids[i - 1]}"
    [ ! -s "$W/stress$i.out" ] || fail "$(cat "$W/stress$i.out")"
  done
}

@test "a thread spinning on a tiny patched function, stopped between its entry NOPs, makes the tool's system calls: first applies, no SIGILL" {
  # The benchmark's library: bench_step is a few instructions, called in
  # a tight loop by the main thread, which the tool picks to map the
  # container; a stop often finds it between the two entry NOPs.
  make -s -C "$ROOT/tests/bench" OUT="$W/bench" "$W/bench/libbench.so.1" \
    "$W/bench/bench_target" "$W/bench/bench_patch.so" >&2
  cp "$W/bench/bench_patch.so" "$W/b.so"
  printf '%s\n@%s\nbench_step:bench_step_v2\n' "$W/b.so" "$W/bench/libbench.so.1" >"$W/b.dsc"
  "$ULP" packer "$W/b.dsc" >/dev/null
  local i pids=()
  for i in $(seq 20); do
    "$W/bench/bench_target" 1 &
    pids+=("$!")
    PIDS+=("$!")
    wait_for_maps "$!" libbench.so.1
    run "$ULP" trigger -q -p "$!" "$W/b.so"
    assert_success
  done
  sleep 0.2
  for i in $(seq 20); do
    assert_alive "${pids[i - 1]}"
  done
}

@test "threads created and exiting during triggers are all handled" {
  patch_a
  cat >"$W/spawner.c" <<'C'
#include <pthread.h>
#include <unistd.h>
const char *demo_message (void);
static void *brief (void *a) { (void)a; for (int i = 0; i < 1000; i++) demo_message (); return NULL; }
int main (void) {
  for (;;) { pthread_t t; pthread_create (&t, NULL, brief, NULL); pthread_detach (t); usleep (200); }
}
C
  gcc -O2 -pthread -o "$W/spawner" "$W/spawner.c" -L"$FIX/v1" -l:libdemo.so.1
  LD_PRELOAD=$RUNTIME LD_LIBRARY_PATH=$FIX/v1 "$W/spawner" &
  PIDS+=($!)
  wait_for_maps $! libdemo.so.1
  for i in $(seq 30); do
    run "$ULP" trigger -p "$!" "$W/a.so"
    assert_success
    run "$ULP" trigger -p "$!" --revert "$W/a.so"
    assert_success
  done
  kill -0 "$!"
}

@test "a process that forks: parent and child are patched independently" {
  patch_a
  start_loop "$FIX/v1"
  cat >"$W/forker.c" <<'C'
#include <stdio.h>
#include <unistd.h>
const char *demo_message (void);
int main (int argc, char **argv) {
  (void)argc;
  pid_t child = fork ();
  for (;;) {
    FILE *f = fopen (child ? argv[1] : argv[2], "w");
    fprintf (f, "%s\n", demo_message ()); fclose (f); usleep (10000);
  }
}
C
  gcc -O2 -o "$W/forker" "$W/forker.c" -L"$FIX/v1" -l:libdemo.so.1
  LD_PRELOAD=$RUNTIME LD_LIBRARY_PATH=$FIX/v1 "$W/forker" "$W/parent.out" "$W/child.out" &
  PIDS+=($!)
  parent=$!
  wait_for_output parent original
  child=$(pgrep -P "$parent")
  PIDS+=("$child")
  "$ULP" trigger -q -p "$child" "$W/a.so"
  wait_for_output child "patch A"
  wait_for_output parent "original v1"
  "$ULP" trigger -q -p "$parent" "$W/a.so"
  wait_for_output parent "patch A"
}

@test "a thread that never leaves libc: patched at once, no safe place needed" {
  patch_a
  start in_libc "$FIX/v1"
  run "$ULP" trigger -p "$LAST" --retries=0 "$W/a.so"
  assert_success
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
  run "$ULP" trigger -p "$LAST" --retries=0 --revert "$W/a.so"
  assert_success
  kill -0 "$LAST"
  [ "$(awk '{print $3}' "/proc/$LAST/stat")" != T ]
}
