#!/usr/bin/env bats
# Every process that maps a covered build is patched: with or without the
# preloaded runtime, while a thread holds a lock of the C library or the
# dynamic loader, in a chroot.  Nothing runs in the target but the system
# calls the tool has one of its threads make (libpulp/lib/inject.h).
load helpers

# runs_patched OUT PID: the target's loop shows the patch and goes on
runs_patched() {
  wait_for_output "$1" "patch A"
  assert_alive "$2"
}

@test "a thread spinning inside dl_iterate_phdr (loader lock held) and a sleeper: patched within the timeout" {
  patch_a
  start_target lock_holder "$FIX/v1" "$W/out.out" phdr
  wait_for_output out "original v1"
  run timeout 10 "$ULP" trigger --timeout=1 -p "$LAST" "$W/a.so"
  assert_success
  runs_patched out "$LAST"
  run timeout 10 "$ULP" trigger --timeout=1 --revert -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "original v1"
}

@test "a thread blocked in write() inside malloc_stats (arena lock held): patched within the timeout" {
  patch_a
  start_target lock_holder "$FIX/v1" "$W/out.out" malloc
  wait_for_output out "original v1"
  run timeout 10 "$ULP" trigger --timeout=1 -p "$LAST" "$W/a.so"
  assert_success
  runs_patched out "$LAST"
}

# A root with just what demo_loop needs, copied from the host.
make_root() {
  local root=$1 lib
  mkdir -p "$root/lib"
  cp "$FIX/demo_loop" "$root/"
  cp "$FIX/v1/libdemo.so.1" "$root/lib/"
  for lib in $(ldd "$FIX/demo_loop" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

@test "a process in a chroot: patched from the host, nothing of the tool's in its root" {
  patch_a
  make_root "$W/root"
  LD_LIBRARY_PATH=/lib chroot "$W/root" /demo_loop /out.out &
  LAST=$!
  PIDS+=("$LAST")
  for _ in $(seq 300); do
    grep -q "original v1" "$W/root/out.out" 2>/dev/null && break
    sleep 0.01
  done
  grep -q "original v1" "$W/root/out.out" || fail "the chrooted loop never ran"
  [ "$(readlink "/proc/$LAST/root")" = "$W/root" ] || fail "not chrooted"
  before=$(find "$W/root" ! -name "out.out*" | sort)
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  assert_line "demo_loop (pid $LAST): SUCCESS $W/a.so"
  for _ in $(seq 300); do
    grep -q "patch A" "$W/root/out.out" 2>/dev/null && break
    sleep 0.01
  done
  grep -q "patch A" "$W/root/out.out" || fail "not patched: $(cat "$W/root/out.out")"
  assert_equal "$(find "$W/root" ! -name "out.out*" | sort)" "$before"
}

@test "no file is written for the target: no run directory, nothing under /run/ulp" {
  patch_a
  NORUNTIME=1 start_loop "$FIX/v1"
  local before=""
  [ -d /run/ulp ] && before=$(ls -A /run/ulp)
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  runs_patched out "$LAST"
  if [ -d /run/ulp ]; then
    assert_equal "$(ls -A /run/ulp)" "$before"
  fi
}

@test "more targets than the soft limit of open files: every one patched, none skipped for Too many open files" {
  patch_a
  local i pids=()
  for i in $(seq 40); do
    NORUNTIME=1 start_target demo_loop "$FIX/v1" "$W/out$i.out"
    pids+=("$LAST")
  done
  for i in $(seq 40); do wait_for_output "out$i" "original v1"; done
  # Each process keeps its memory file open from planning to release.
  run bash -c 'ulimit -Sn 24 && exec "$0" trigger "$1"' "$ULP" "$W/a.so"
  assert_success
  refute_output --partial "open files"
  for i in $(seq 40); do
    assert_line --partial "(pid ${pids[$((i - 1))]}): SUCCESS"
    wait_for_output "out$i" "patch A"
  done
}

@test "a container calling an IFUNC that libc never calls itself (strstr): its address is the one the program bound" {
  # strstr has no IRELATIVE slot in Debian 12's libc; the program's own
  # GOT slot, bound at its first call, holds what the resolver chose.
  cat >"$W/uses_strstr.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
const char *demo_message (void);
const char *volatile haystack = "a needle here";
int main (int argc, char **argv) {
  (void)argc;
  if (!strstr (haystack, "needle"))
    return 1;
  for (;;) {
    FILE *f = fopen (argv[1], "w");
    fprintf (f, "%s\n", demo_message ());
    fclose (f);
    usleep (10000);
  }
}
C
  cat >"$W/patch_strstr.c" <<'C'
#include <string.h>
const char *volatile patch_text = "patched by strstr";
const char *demo_message_strstr (void) {
  return strstr (patch_text, "by str") ? "patched strstr" : "strstr failed";
}
C
  gcc -O2 -o "$W/uses_strstr" "$W/uses_strstr.c" -L"$LIB" -l:libdemo.so.1
  gcc -O2 -fPIC -shared -o "$W/s.so" "$W/patch_strstr.c"
  readelf --dyn-syms -W "$W/s.so" | grep -q ' strstr@GLIBC' || fail "no strstr import"
  printf '%s\n@%s\ndemo_message:demo_message_strstr\n' "$W/s.so" "$LIB/libdemo.so.1" >"$W/s.dsc"
  "$ULP" packer "$W/s.dsc" >/dev/null
  LD_LIBRARY_PATH=$LIB "$W/uses_strstr" "$W/out.out" &
  LAST=$!
  PIDS+=("$LAST")
  wait_for_output out "original"
  run "$ULP" trigger -p "$LAST" "$W/s.so"
  assert_success
  wait_for_output out "patched strstr"
  assert_alive "$LAST"
  # A program that never bound strstr: refused with the reason, untouched.
  NORUNTIME=1 start_target demo_loop "$LIB" "$W/plain.out"
  wait_for_output plain "original"
  run "$ULP" trigger -p "$LAST" "$W/s.so"
  assert_failure
  assert_line --regexp "strstr in /[^ ]*/libc\.so\.6 is an IFUNC that neither the library itself nor any object the process has bound it for calls"
  : >"$W/plain.out"
  wait_for_output plain "original"
  assert_alive "$LAST"
}

# The loading thread makes its calls in one batch and then stops itself
# for the tool with a signal (inject.h): one with no handler, not blocked,
# ignored by default, so that it does nothing if the tool is gone; with no
# such signal the calls are made one by one.  Either way the process sees
# nothing.
@test "a first apply: no signal handler of the target runs, no signal is left pending (handled, one handled, all blocked)" {
  patch_a
  for mode in caught urg blocked; do
    start_target demo_loop "$FIX/v1" "$W/$mode.out" "$mode"
    wait_for_output "$mode" "original v1"
    run "$ULP" trigger -p "$LAST" "$W/a.so"
    assert_success
    wait_for_output "$mode" "patch A"
    sleep 0.05
    grep -q "signals=0$" "$W/$mode.out" ||
      fail "$mode: a handler ran: $(cat "$W/$mode.out")"
    pending=$(awk '/^(SigPnd|ShdPnd):/ { print $2 }' "/proc/$LAST/status" |
      sort -u)
    [ "$pending" = 0000000000000000 ] || fail "$mode: left pending: $pending"
    assert_alive "$LAST"
  done
}

# The calls of a first apply and the thread's saved registers go on its
# stack, below its red zone: never into the guard page below the stack,
# which /proc/PID/mem would write but the thread could not read back.
@test "a first apply when the only thread's stack is nearly used up: it lives on, FAILED with the reason" {
  need_fixtures stack_edge
  patch_a
  NORUNTIME=1 start_target stack_edge "$FIX/v1" "$W/edge.out" 1024
  wait_for_output edge "original v1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  sleep 0.3
  assert_alive "$LAST"
  rm -f "$W/edge.out"
  wait_for_output edge "original v1"
  assert_failure
  assert_output --partial "no room left on its stack"
}

@test "a process whose main thread has ended (pthread_exit in main): patched through a live thread's view of its memory, then reverted" {
  patch_a
  start_target leaderless "$FIX/v1" "$W/out.out"
  wait_for_output out "original v1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  assert_output --partial "leaderless (pid $LAST): SUCCESS"
  runs_patched out "$LAST"
  run "$ULP" patches -p "$LAST"
  assert_output --partial "$W/a.so (target libdemo.so.1"
  # Found without -p as well: the revert goes through the scan of /proc.
  run "$ULP" trigger --revert-all=libdemo.so.1 -p leaderless
  assert_success
  assert_output --partial "leaderless (pid $LAST): SUCCESS"
  wait_for_output out "original v1"
  assert_alive "$LAST"
}
