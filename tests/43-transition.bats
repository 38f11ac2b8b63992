#!/usr/bin/env bats
# The ptrace transition's robustness: threads that cannot stop (vfork, D
# state), threads that exec or are killed during a trigger, and processes
# traced by another program.  Each target's own output is the proof: its
# main thread writes "MESSAGE count=N maxgap=MS" every 10 ms, MAXGAP being
# the longest it was ever kept from running (tests/targets/tr_loop.h).
# Timings are correctness bounds with wide margins, not benchmarks.
load helpers

setup_file() { need_fixtures vforker dstate exec_thread seccomp_kill; }

# timed_trigger ARGS...: runs ulp trigger (bounded by 60 s, so that a
# regression fails instead of hanging the suite); $ELAPSED gets the time it
# took in milliseconds.
timed_trigger() {
  local t0
  t0=$(ms_now)
  run timeout 60 "$ULP" trigger "$@"
  ELAPSED=$(($(ms_now) - t0))
}

# fails_in_time REASON: ulp trigger --timeout=1 of $W/a.so on $pid fails
# within 3 s, timed out on a thread, for REASON.
fails_in_time() {
  timed_trigger --timeout=1 -p "$pid" "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: timed out: thread"
  assert_output --partial "$1"
  [ "$ELAPSED" -lt 3000 ] || fail "ulp trigger --timeout=1 took $ELAPSED ms"
}

# ran_free: no thread of $pid is left traced, and its main thread counts on,
# never held as long as a second.
ran_free() {
  not_traced "$pid"
  runs_on out
  maxgap=$(field out maxgap)
  [ "$maxgap" -lt 1000 ] || fail "the main thread was held $maxgap ms"
}

@test "a thread in vfork longer than --timeout: the others run on, FAILED with the reason, in time" {
  patch_a
  start_target vforker "$FIX/v1" "$W/out.out" 4
  pid=$LAST
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  fails_in_time "waits for its vfork child"
  # The straggler is still in vfork, and neither it nor any other thread
  # is left traced; the main thread never stopped for as long as the
  # timeout, and runs the original code.
  grep -qs '^State:.*D' /proc/"$pid"/task/*/status
  ran_free
  wait_for_output out "original v1"
  # Once the vfork is over, the same trigger goes through.
  no_dstate "$pid"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  assert_alive "$pid"
}

@test "a vfork child, in its parent's memory until it calls exec: never patched on its own" {
  patch_a
  start_target vforker "$FIX/v1" "$W/out.out" 4
  pid=$LAST
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  child=$(pgrep -P "$pid")
  [ -n "$child" ] || fail "no vfork child"
  run "$ULP" trigger -p "$child" "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: shares its memory with its parent (pid $pid): a vfork child that has not called exec"
  runs_on out
  wait_for_output out "original v1"
  ! grep -q memfd: "/proc/$pid/maps" || fail "something was mapped into the parent"
}

@test "a thread in vfork shorter than --timeout: the others are not held meanwhile, the patch goes in after" {
  patch_a
  start_target vforker "$FIX/v1" "$W/out.out" 2
  pid=$LAST
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  timed_trigger --timeout=20 -p "$pid" "$W/a.so"
  assert_success
  assert_output --partial "SUCCESS $W/a.so"
  wait_for_output out "patch A"
  # Holding every thread until the vfork ends would show a gap near 2 s.
  maxgap=$(field out maxgap)
  [ "$maxgap" -lt 1000 ] || fail "the main thread was held $maxgap ms"
  not_traced "$pid"
  runs_on out
}

@test "a thread in vfork while no other thread can load the patch: the reason still names the vfork" {
  patch_a
  # The main thread waits where no patch is loaded from, so the trigger
  # waits for the vforking thread alone before it has loaded anything.
  start_target vforker "$FIX/v1" "$W/out.out" 4 futex
  pid=$LAST
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  fails_in_time "waits for its vfork child"
  ran_free
  wait_for_output out "original v1"
}

@test "a thread in uninterruptible sleep (D state): the others run on, FAILED with the reason, in time" {
  patch_a
  start_target dstate "$FIX/v1" "$W/out.out" 4
  pid=$LAST
  for _ in $(seq 300); do
    [ -s "$W/out.out" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.01
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && status=0 || status=$?
    [ "$status" -eq 77 ] && skip "no userfaultfd here: $(cat "$W/dstate.stderr")"
    fail "dstate exited with $status: $(cat "$W/dstate.stderr")"
  fi
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  # The main thread fills the missing page 4 s after the blocker blocked:
  # a trigger holding it stopped meanwhile would wait for ever.
  fails_in_time "is in uninterruptible sleep (D state"
  ran_free
  wait_for_output out "original v1"
  no_dstate "$pid"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "a thread that calls exec during the trigger: FAILED, nothing written, every thread released" {
  patch_a
  start_target exec_thread "$FIX/v1" "$W/out.out" 2
  pid=$LAST
  wait_for_output out "original v1"
  # The vfork keeps the trigger waiting; the third thread, seeing itself
  # traced, calls exec meanwhile.
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  timed_trigger --timeout=20 -p "$pid" "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: the process called exec during the trigger"
  [ "$ELAPSED" -lt 10000 ] || fail "ulp trigger took $ELAPSED ms"
  # The new program runs, untraced, with its own (original) code, and can
  # be patched like any other process.
  wait_for_output out "exec'd original v1"
  not_traced "$pid"
  runs_on out
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "exec'd patch A"
}

@test "a thread killed by seccomp during the trigger is passed over; the others are patched" {
  patch_a
  start_target seccomp_kill "$FIX/v1" "$W/out.out" traced
  pid=$LAST
  wait_for_output out "original v1"
  [ "$(ls /proc/"$pid"/task | wc -l)" -eq 3 ]
  # The vfork keeps the trigger waiting; the filtered thread, seeing
  # itself traced, makes the call its filter kills it for.
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
  timed_trigger --timeout=20 -p "$pid" "$W/a.so"
  assert_success
  assert_output --partial "SUCCESS $W/a.so"
  wait_for_output out "patch A"
  [ "$(ls /proc/"$pid"/task | wc -l)" -eq 2 ] || fail "the filtered thread is still there"
  not_traced "$pid"
  runs_on out
}

@test "a thread whose seccomp filter kills on openat: patched, every thread lives (nothing opens a file in the target)" {
  patch_a
  start_target seccomp_kill "$FIX/v1" "$W/out.out" openat
  pid=$LAST
  wait_for_output out "original v1"
  [ "$(ls /proc/"$pid"/task | wc -l)" -eq 2 ]
  timed_trigger --timeout=5 -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  [ "$(ls /proc/"$pid"/task | wc -l)" -eq 2 ] || fail "a thread died"
  not_traced "$pid"
  runs_on out
}

@test "a seccomp filter that would kill on a call the tool makes: SKIPPED with the reason, the process untouched" {
  patch_a
  start_target seccomp_kill "$FIX/v1" "$W/out.out" memfd
  pid=$LAST
  wait_for_output out "original v1"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: its seccomp filter would kill the thread on memfd_create"
  run "$ULP" trigger "$W/a.so"
  assert_line "seccomp_kill (pid $pid): SKIPPED $W/a.so: its seccomp filter would kill the thread on memfd_create"
  not_traced "$pid"
  runs_on out
  wait_for_output out "original v1"
  assert_alive "$pid"
  ! grep -q memfd: "/proc/$pid/maps" || fail "something was mapped"
}

@test "a process traced by another program: the report names the tracer" {
  patch_a
  start_loop "$FIX/v1"
  pid=$LAST
  gdb -q -batch -p "$pid" -ex 'shell sleep 3' >"$W/gdb.log" 2>&1 &
  gdb=$!
  PIDS+=("$gdb")
  for _ in $(seq 1000); do
    grep -q "^TracerPid:[[:space:]]*$gdb\$" "/proc/$pid/status" && break
    sleep 0.01
  done
  grep -q "^TracerPid:[[:space:]]*$gdb\$" "/proc/$pid/status" ||
    fail "gdb never attached: $(cat "$W/gdb.log")"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: traced by gdb (pid $gdb)"
  refute_output --partial "no such process"
  wait "$gdb" || true
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "a seccomp filter that refuses executable mprotect and writable+executable mmap (libpulp's block_mprotect): patched and reverted" {
  patch_a
  start_target seccomp_kill "$FIX/v1" "$W/out.out" noexec
  pid=$LAST
  wait_for_output out "original v1"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  assert_line "seccomp_kill (pid $pid): SUCCESS $W/a.so"
  wait_for_output out "patch A"
  run "$ULP" trigger --revert -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "original v1"
  not_traced "$pid"
  assert_alive "$pid"
}
