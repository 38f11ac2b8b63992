#!/usr/bin/env bats
# SIGINT, SIGTERM and SIGHUP during a trigger: the tool finishes or rolls
# back the step under way, releases every thread, prints the results it has
# and exits with 128 + the signal; the target runs on, untraced, with its
# old code, and a later trigger patches it.  The rpm plugin asks its helper
# to stop (SIGTERM) at %_ulp_plugin_timeout and never kills it.
#
# The targets are tests/targets/vforker.c and dstate.c (a thread in vfork,
# or in the kernel, makes the trigger wait, with no thread held) and
# stress.c (threads calling the patched function, exiting on any result
# not allowed).
load helpers
source "$BATS_TEST_DIRNAME/rpm/env.sh"

setup_file() { need_fixtures vforker dstate; }

# traced_by PID TRACER: until a thread of PID is traced by a thread of
# process TRACER
traced_by() {
  local tracer
  for _ in $(seq 1000); do
    for tracer in $(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/"$1"/task/*/status 2>/dev/null); do
      [ "$tracer" != 0 ] && [ -e "/proc/$2/task/$tracer" ] && return 0
    done
    sleep 0.01
  done
  fail "process $2 never traced $1"
}

# gone PID SECONDS: until PID has exited (a zombie counts: its parent may
# be gone too).
gone() {
  local i
  for ((i = 0; i < $2 * 100; i++)); do
    case $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) in
    '' | Z) return 0 ;;
    esac
    sleep 0.01
  done
  fail "process $1 still runs after $2 s"
}

# trigger_bg ARGS...: ulp trigger in the background, $TRIGGER its pid,
# its output in $W/trigger.out.  A shell leaves SIGINT and SIGQUIT ignored
# in a background job: env gives the tool the default actions a terminal
# would.
trigger_bg() {
  env --default-signal "$ULP" trigger "$@" >"$W/trigger.out" 2>&1 &
  TRIGGER=$!
  PIDS+=("$TRIGGER")
}

# exit_status PID SECONDS: waits for PID (a child), failing after SECONDS;
# its status in $STATUS.
exit_status() {
  gone "$1" "$2"
  STATUS=0
  wait "$1" || STATUS=$?
}

# waiting_target PROGRAM SECONDS: a vforker (or dstate) whose thread
# sleeps uninterruptibly for SECONDS from now, in vfork (or in the
# kernel); $pid.
waiting_target() {
  start_target "$1" "${LIBDIR:-$FIX/v1}" "$W/out.out" "$2"
  pid=$LAST
  for _ in $(seq 300); do
    [ -s "$W/out.out" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.01
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && status=0 || status=$?
    [ "$status" -eq 77 ] && skip "no userfaultfd here: $(cat "$W/$1.stderr")"
    fail "$1 exited with $status: $(cat "$W/$1.stderr")"
  fi
  wait_for_output out "original v1"
  kill -USR1 "$pid"
  wait_for_dstate "$pid"
}

# interrupted_while_waiting SIG [TWICE]: ulp trigger waits for a thread in
# vfork; SIG (sent twice with TWICE) ends it within a second, with the
# process released, unpatched, reported FAILED for SIG.
interrupted_while_waiting() {
  local sig=$1 twice=${2:-} t0 elapsed
  patch_a
  waiting_target vforker 3
  trigger_bg --timeout=10 -p "$pid" "$W/a.so"
  traced_by "$pid" "$TRIGGER"
  sleep 0.2 # backed off, waiting for the vfork with no thread held
  t0=$(ms_now)
  kill -"$sig" "$TRIGGER"
  # The second may come after the tool has already gone: that is fine.
  [ -z "$twice" ] || kill -"$sig" "$TRIGGER" 2>/dev/null || true
  exit_status "$TRIGGER" 5
  elapsed=$(($(ms_now) - t0))
  run cat "$W/trigger.out"
  assert_equal "$STATUS" $((128 + $(kill -l "$sig")))
  [ "$elapsed" -lt 1000 ] || fail "ulp trigger took $elapsed ms to stop"
  assert_output --partial "vforker (pid $pid): FAILED $W/a.so: interrupted by SIG$sig"
  assert_output --partial "summary: 0 succeeded, 0 skipped, 1 failed"
  assert_output --partial "ulp trigger: interrupted by SIG$sig; every thread was released"
  # Alive, released, running its own code.
  assert_alive "$pid"
  not_traced "$pid"
  runs_on out
  wait_for_output out "original v1"
  run "$ULP" check -p "$pid" "$W/a.so"
  assert_output "not applied"
  # Once the vfork is over, a trigger goes through.
  no_dstate "$pid"
  run "$ULP" trigger -p "$pid" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  not_traced "$pid"
}

@test "SIGTERM while the trigger waits for a thread in vfork: FAILED, released, exit 143; a second one changes nothing" {
  interrupted_while_waiting TERM twice
}

@test "SIGINT while the trigger waits for a thread in vfork: FAILED, released, exit 130" {
  interrupted_while_waiting INT
}

@test "SIGHUP while the trigger waits for a thread in vfork: FAILED, released, exit 129" {
  interrupted_while_waiting HUP
}

@test "an ignored SIGHUP (nohup) stays ignored: the trigger goes on and patches" {
  patch_a
  waiting_target vforker 2
  # The ignored action survives exec, as with nohup.
  (
    trap '' HUP
    exec "$ULP" trigger --timeout=10 -p "$pid" "$W/a.so" >"$W/trigger.out" 2>&1
  ) &
  TRIGGER=$!
  PIDS+=("$TRIGGER")
  traced_by "$pid" "$TRIGGER"
  kill -HUP "$TRIGGER"
  exit_status "$TRIGGER" 15
  run cat "$W/trigger.out"
  assert_equal "$STATUS" 0
  assert_output --partial "vforker (pid $pid): SUCCESS $W/a.so"
  wait_for_output out "patch A"
}

@test "SIGTERM at random instants of triggers: old or new code throughout, never left traced, the report tells which" {
  patch_a
  start stress "$FIX/v1" 4 "original v1" "patch A" >"$W/stress.out" 2>&1
  stress=$LAST
  local i applied reported
  for ((i = 0; i < 25; i++)); do
    trigger_bg -p "$stress" "$W/a.so"
    sleep "0.0$((RANDOM % 60 + 10))"
    kill -TERM "$TRIGGER" 2>/dev/null || true
    exit_status "$TRIGGER" 15
    # Ended by the signal before or after the transition, stopped by it
    # during, or done before it came.
    [ "$STATUS" -eq 143 ] || [ "$STATUS" -eq 0 ] ||
      fail "exit $STATUS: $(cat "$W/trigger.out")"
    assert_alive "$stress"
    not_traced "$stress"
    applied=no
    "$ULP" check -p "$stress" "$W/a.so" >/dev/null && applied=yes
    reported=
    grep -q "SUCCESS $W/a.so" "$W/trigger.out" && reported=yes
    grep -q "FAILED $W/a.so: interrupted by SIGTERM" "$W/trigger.out" && reported=no
    [ -z "$reported" ] || [ "$reported" = "$applied" ] ||
      fail "reported applied=$reported, but it is $applied: $(cat "$W/trigger.out")"
    [ "$applied" = no ] || "$ULP" trigger -q -p "$stress" --revert "$W/a.so"
  done
  kill -TERM "$stress"
  exit_status "$stress" 5
  assert_equal "$STATUS" 0
}

# sig_lib: $W/sig/libdemo.so.1, libdemo v1 under the soname
# libsigdemo.so.1 (a link to it): the %post helper, which looks at every
# process, then touches none but this test's.
sig_lib() {
  mkdir -p "$W/sig"
  gcc -std=gnu11 -O2 -fpatchable-function-entry=16,14 -fcf-protection=full \
    -DDEMO_VERSION=1 -fPIC -shared -Wl,-soname,libsigdemo.so.1 \
    -Wl,--build-id=sha1 -o "$W/sig/libsigdemo.so.1" "$FIXSRC/libdemo.c"
  ln -s libsigdemo.so.1 "$W/sig/libdemo.so.1"
}

@test "ulp_post_hook (%post): SIGTERM during its step: reported, every thread released, exit 143" {
  sig_lib
  mkdir "$W/containers"
  make_patch a patch_a.so "$W/sig" demo_message:demo_message_a
  mv "$W/a.so" "$W/containers/"
  export ULP_SYSCONFIG=$W/sysconfig
  LIBDIR=$W/sig waiting_target dstate 3
  "$BUILD/ulp_post_hook" sig-livepatches 1 libsigdemo.so.1 "$W/containers" \
    >"$W/hook.out" 2>&1 &
  hook=$!
  PIDS+=("$hook")
  traced_by "$pid" "$hook"
  sleep 0.2
  kill -TERM "$hook"
  exit_status "$hook" 2
  run cat "$W/hook.out"
  assert_equal "$STATUS" 143
  assert_output --partial "ulp_post_hook: warning: sig-livepatches: dstate (pid $pid): FAILED $W/containers/a.so: interrupted by SIGTERM"
  assert_output --partial "ulp_post_hook: sig-livepatches: patched 0, skipped 0, failed 1"
  assert_output --partial "ulp_post_hook: sig-livepatches: interrupted by SIGTERM"
  assert_alive "$pid"
  not_traced "$pid"
  runs_on out
  wait_for_output out "original v1"
}

# --- the rpm plugin -----------------------------------------------------------

# plugin_root SLEEP BUDGET: the private rpm setting of tests/rpm.bash, a
# root $R with libdemo 1.0-1, a dstate target running it whose thread
# sleeps uninterruptibly for SLEEP seconds ($pid; not a vforker: the
# helper patches any process, a vfork child included), and $W/wrap, a
# helper that believes it has BUDGET seconds whatever the plugin says
# (HELPER_PRELUDE runs first).
plugin_root() {
  local sleep=$1 budget=$2
  PKG=$FIX/rpm
  private_host "$W" "$BUILD" "$ROOT"
  R=$W/root
  make_root "$R"
  rpm --root "$R" -i \
    "$PKG"/root/good/{test-base-,ulp-[0-9],libdemo-1.0-1.}*.rpm 2>/dev/null
  RUNTIME=$R/usr/lib64/libpulp.so.0 LIBDIR=$R/usr/lib64 waiting_target dstate "$sleep"
  printf '#!/bin/sh\n%s\nshift 2\nexec "%s" transaction %s "$@"\n' \
    "${HELPER_PRELUDE:-}" "$BUILD/ulp_post_hook" "$budget" >"$W/wrap"
  chmod +x "$W/wrap"
}

# install_livepatch TIMEOUT: rpm -i of demo-livepatches-1 with the plugin
# deadline TIMEOUT and the helper $W/wrap; $ELAPSED in ms.
install_livepatch() {
  local t0
  t0=$(ms_now)
  run rpm --root "$R" --define "_ulp_plugin_timeout $1" \
    --define "_ulp_helper $W/wrap" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  ELAPSED=$(($(ms_now) - t0))
}

@test "the plugin's deadline: the helper gets SIGTERM, stops its step cleanly, the transaction completes" {
  plugin_root 5 20
  install_livepatch 1
  assert_success
  [ "$ELAPSED" -lt 4000 ] || fail "rpm took $ELAPSED ms"
  assert_output --regexp "warning: ulp: livepatching did not finish within 1 s \(%_ulp_plugin_timeout\); asked the helper \(pid [0-9]+\) to stop: SIGTERM"
  assert_output --regexp "warning: ulp: demo-livepatches-1-1.x86_64: dstate \(pid $pid[,)].*: FAILED .*libdemo_1.0-1_livepatch1.so: interrupted by SIGTERM"
  assert_output --partial "warning: ulp: interrupted by SIGTERM: the step under way was finished or rolled back, every thread released"
  refute_output --partial "was ended by signal"
  refute_output --partial "still running"
  run rpm --root "$R" -q demo-livepatches
  assert_success
  assert_alive "$pid"
  not_traced "$pid"
  runs_on out
  wait_for_output out "original v1"
}

@test "a helper that does not stop within the grace is left running, never killed, and rpm goes on" {
  # It ignores SIGTERM, and its step waits 9 s for a sleep of 12.
  HELPER_PRELUDE="trap '' TERM" plugin_root 12 9
  install_livepatch 1
  assert_success
  [ "$ELAPSED" -ge 5500 ] && [ "$ELAPSED" -lt 8500 ] ||
    fail "rpm took $ELAPSED ms (1 s deadline + 5 s grace expected)"
  assert_output --regexp "asked the helper \(pid [0-9]+\) to stop: SIGTERM"
  helper=$(sed -n 's/.*the helper (pid \([0-9]*\)) is still running 5 s after SIGTERM; left to finish on its own.*/\1/p' <<<"$output")
  [ -n "$helper" ] || fail "no warning naming the helper left running: $output"
  run rpm --root "$R" -q demo-livepatches
  assert_success
  # Not killed: it ends by itself when its step times out.
  assert_alive "$helper"
  gone "$helper" 10
  assert_alive "$pid"
  not_traced "$pid"
  runs_on out
  wait_for_output out "original v1"
}
