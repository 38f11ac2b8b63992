#!/usr/bin/env bats
# The tool killed (SIGKILL) while it patches: the target keeps running,
# with its patch state entirely old or entirely new, and the next trigger
# works.  A stress target (tests/targets/stress_target.c) checks every call
# of four busy threads.
#   Named steps: ULP_FAILPOINT=NAME makes the tool kill itself there
#   (libpulp/lib/failpoint.h).  Random instants: ULP_KILLS (default 30;
#   make bench runs 500).
load helpers

O=1 P1=2

# start_stress [NAME]: a new stress target, controlled as NAME (default st)
start_stress() {
  ST=${1:-st}
  start_ctl_target "$ST" stress_target "$LIB" 4 "$W/$ST.ctl" "$W/$ST.ack" \
    "$W/report" original "patched 1"
  PID=$LAST
  allow $O
}

allow() {
  local r
  r=$(ctl "$ST" "allow $1") || fail "stress target gone (report: $(cat "$W/report" 2>/dev/null))"
  [[ $r == "ok "* ]] || fail "allow $1: $r"
}

widen() {
  local r
  r=$(ctl "$ST" "widen $1") || fail "stress target gone (report: $(cat "$W/report" 2>/dev/null))"
  [[ $r == "ok "* ]] || fail "widen $1: $r"
}

# The patch state the process reports, and every call from now on must
# match it: no thread runs the other code.
settled() {
  assert_alive "$PID"
  if "$ULP" check -p "$PID" "$W/p1.so" >/dev/null; then
    allow $P1
    echo applied
  else
    allow $O
    echo original
  fi
}

untraced() {
  local s
  for s in /proc/"$PID"/task/*/status; do
    grep -q '^TracerPid:[[:space:]]*0$' "$s" || fail "$s: still traced"
    ! grep -q '^State:[[:space:]]*t' "$s" || fail "$s: still stopped"
  done
}

# Every thread back on its own scheduling policy: threads the tool gave a
# real-time priority for a moment (libpulp/lib/boost.h) get theirs back,
# from the tool or, once it is dead, from its guardian.
unraised() {
  local i
  for ((i = 0; i < 100; i++)); do
    ps -L -o cls= -p "$PID" | grep -qv TS || return 0
    sleep 0.02
  done
  fail "threads left real-time: $(ps -L -o tid=,cls=,rtprio= -p "$PID" | tr '\n' ' ')"
}

finish() {
  local r state
  state=$(settled)
  widen $((O | P1))
  if [ "$state" = applied ]; then
    run "$ULP" trigger -q --revert -p "$PID" "$W/p1.so"
    assert_success
  fi
  run "$ULP" trigger -q -p "$PID" "$W/p1.so"
  assert_success
  allow $P1
  widen $((O | P1))
  run "$ULP" trigger -q --revert -p "$PID" "$W/p1.so"
  assert_success
  allow $O
  # the last revert left the patch area exactly as the library has it
  assert_equal "$(peek "$PID" "$(printf %x $((ENTRY - 14)))" 16)" "$AREA"
  r=$(ctl "$ST" status)
  [[ $r =~ mismatches=0\ unexpected=0 ]] || fail "$r; report: $(cat "$W/report")"
  untraced
}

remember_area() {
  ENTRY=$(entry_addr "$PID" "$LIB/libdemo.so.1" demo_message)
  AREA=$(peek "$PID" "$(printf %x $((ENTRY - 14)))" 16)
}

# die_at NAME [--revert]: a trigger that kills itself at step NAME.
die_at() {
  local point=$1
  shift
  widen $((O | P1))
  run env ULP_FAILPOINT="$point" "$ULP" trigger -p "$PID" "$@" "$W/p1.so"
  [ "$status" -eq 137 ] || fail "failpoint $point not reached: exit $status: $output"
  untraced
  unraised
}

@test "killed at each step of an apply: old or new code, never a mix, and the next trigger works" {
  pack p1 patch1 "$LIB"
  local point expect
  for point in ${ULP_KILL_POINTS:-boost-raised inject-set inject-entry inject-exit \
    load-mapped state-mapped commit-claimed commit-windows commit-switched}; do
    # a process that never had the patch: every step is taken
    start_stress "st_${point//-/_}"
    remember_area
    die_at "$point"
    case $point in commit-switched) expect=applied ;; *) expect=original ;; esac
    assert_equal "$point: $(settled)" "$point: $expect"
    finish
  done
}

@test "killed at each step of a revert: old or new code, and the area comes back whole" {
  pack p1 patch1 "$LIB"
  start_stress
  remember_area
  local point expect
  for point in commit-claimed commit-windows commit-switched commit-tidied; do
    widen $((O | P1))
    run "$ULP" trigger -q -p "$PID" "$W/p1.so"
    assert_success
    allow $P1
    die_at "$point" --revert
    case $point in commit-switched | commit-tidied) expect=original ;; *) expect=applied ;; esac
    assert_equal "$point: $(settled)" "$point: $expect"
    finish
  done
}

@test "killed at ${ULP_KILLS:-30} random instants: the target lives and stays consistent" {
  pack p1 patch1 "$LIB"
  start_stress
  remember_area
  local i state=original tool delay
  for ((i = 0; i < ${ULP_KILLS:-30}; i++)); do
    widen $((O | P1))
    if [ "$state" = applied ]; then
      "$ULP" trigger -q --revert -p "$PID" "$W/p1.so" 2>/dev/null &
    else
      "$ULP" trigger -q -p "$PID" "$W/p1.so" 2>/dev/null &
    fi
    tool=$!
    delay=$((RANDOM % 25))
    sleep "0.0$(printf %02d "$delay")"
    kill -9 "$tool" 2>/dev/null || true
    wait "$tool" 2>/dev/null || true
    state=$(settled)
    unraised
  done
  finish
}

# sched_of PID: each thread's policy and nice, in thread order.
sched_of() {
  ps -L -o cls=,ni= -p "$1" | tr -s ' \n' ' '
}

@test "a trigger on busy threads gives each its own policy and nice back" {
  pack p1 patch1 "$LIB"
  start_stress
  local tids
  mapfile -t tids < <(ls /proc/"$PID"/task)
  renice -n 5 -p "${tids[@]}" >/dev/null
  chrt -b -p 0 "${tids[1]}"
  chrt -i -p 0 "${tids[2]}"
  renice -n 9 -p "${tids[3]}" >/dev/null
  local before
  before=$(sched_of "$PID")
  [[ $before == *B*IDL* ]] || fail "could not set the policies: $before"
  widen $((O | P1))
  run "$ULP" trigger -p "$PID" "$W/p1.so" # a first apply: makes calls
  assert_success
  allow $P1
  assert_equal "$(sched_of "$PID")" "$before"
  widen $((O | P1))
  run "$ULP" trigger --revert -p "$PID" "$W/p1.so"
  assert_success
  allow $O
  assert_equal "$(sched_of "$PID")" "$before"
  finish
  assert_equal "$(sched_of "$PID")" "$before"
}
