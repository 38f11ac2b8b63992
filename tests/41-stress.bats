#!/usr/bin/env bats
# Threads calling the patched function in a tight loop through hundreds of
# apply/revert cycles; every single result is checked by the target
# (tests/targets/stress_target.c).
#   ULP_STRESS_CYCLES (default 300), ULP_STRESS_THREADS (default 4)
load helpers

# bit masks over the stress_target values "original" "patched 1" "patched 2"
O=1 P1=2 P2=4

start_stress() { # [LIBDIR]
  start_ctl_target st stress_target "${1:-$LIB}" "${ULP_STRESS_THREADS:-4}" \
    "$W/st.ctl" "$W/st.ack" "$W/report" original "patched 1" "patched 2"
  PID=$LAST
  allow $O
}

# allow MASK: from now on every call must return a value in MASK; returns
# once every thread has made a call checked against it.
allow() {
  local r
  r=$(ctl st "allow $1") || fail "stress target gone (report: $(cat "$W/report" 2>/dev/null))"
  [[ $r == "ok "* ]] || fail "allow $1: $r"
}

# widen MASK: like allow, for a MASK that only adds values (before a
# trigger): no need to wait for the threads.
widen() {
  local r
  r=$(ctl st "widen $1") || fail "stress target gone (report: $(cat "$W/report" 2>/dev/null))"
  [[ $r == "ok "* ]] || fail "widen $1: $r"
}

# trig ARGS...: one trigger that must succeed
trig() {
  run "$ULP" trigger -q -p "$PID" "$@"
  [ "$status" -eq 0 ] || fail "cycle $CYCLE: ulp trigger $* -> exit $status: $output"
}

finish_stress() {
  local r
  r=$(ctl st status)
  echo "# $r" >&3
  [[ $r =~ checked=([0-9]+)\ mismatches=0\ unexpected=0 ]] ||
    fail "$r; report: $(cat "$W/report" 2>/dev/null)"
  [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "nothing was checked: $r"
  [ ! -s "$W/report" ] || fail "report: $(cat "$W/report")"
  assert_alive "$PID"
}

@test "stress: ${ULP_STRESS_CYCLES:-300} apply/revert cycles under ${ULP_STRESS_THREADS:-4} busy threads, every result checked" {
  pack p1 patch1 "$LIB"
  start_stress
  for ((CYCLE = 1; CYCLE <= ${ULP_STRESS_CYCLES:-300}; CYCLE++)); do
    widen $((O | P1))
    trig "$W/p1.so"
    allow $P1
    widen $((O | P1))
    trig --revert "$W/p1.so"
    allow $O
  done
  finish_stress
}

@test "stress: functions starting with endbr64 (-fcf-protection=full)" {
  pack p1 patch1 "$LIBCET"
  start_stress "$LIBCET"
  local n=$(((${ULP_STRESS_CYCLES:-300} + 5) / 6))
  for ((CYCLE = 1; CYCLE <= n; CYCLE++)); do
    widen $((O | P1))
    trig "$W/p1.so"
    allow $P1
    widen $((O | P1))
    trig --revert "$W/p1.so"
    allow $O
  done
  finish_stress
}

@test "stress: stacked patches, revert of the older one, revert-all=target + PATCH" {
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  start_stress
  local n=$(((${ULP_STRESS_CYCLES:-300} + 9) / 10))
  for ((CYCLE = 1; CYCLE <= n; CYCLE++)); do
    widen $((O | P1))
    trig "$W/p1.so"
    allow $P1
    widen $((P1 | P2))
    trig "$W/p2.so"
    allow $P2
    # reverting the older patch must never expose p1 or the original
    trig --revert "$W/p1.so"
    allow $P2
    # replacing p2 by p1 in one stop never exposes the original
    widen $((P1 | P2))
    trig --revert-all=target "$W/p1.so"
    allow $P1
    widen $((O | P1))
    trig --revert "$W/p1.so"
    allow $O
  done
  finish_stress
}

@test "stress: the checker catches a wrong result (self-test)" {
  pack p1 patch1 "$LIB"
  start_stress
  trig "$W/p1.so"
  # declare the original while patch 1 is in: the target must complain
  local r
  r=$(ctl st "allow $O")
  r=$(ctl st status)
  [[ $r =~ mismatches=[1-9] ]] || fail "the stress target did not notice: $r"
  [ -s "$W/report" ]
}

@test "stress: the original never runs once patched, under load, many cycles" {
  pack p1 patch1 "$LIB"
  start_ctl_target mon monitor_target "$LIB" "${ULP_STRESS_THREADS:-4}" "$W/mon.ctl" "$W/mon.ack"
  PID=$LAST
  local r i
  for ((i = 1; i <= 50; i++)); do
    CYCLE=$i
    trig "$W/p1.so"
    r=$(ctl mon mark)
    [[ $r == "marked "* ]] || fail "mark: $r"
    r=$(ctl mon check)
    [[ $r =~ orig_since_mark=0\ patched_results=[1-9][0-9]*\ original_results=0 ]] ||
      fail "cycle $i: the original ran while patched: $r"
    trig --revert "$W/p1.so"
  done
  assert_alive "$PID"
}

@test "ctl: a reply written in pieces arrives whole; a target that dies is noticed at once" {
  # a target that answers "ping" in two writes 0.3 s apart, and dies on "die"
  cat >"$W/slow_target" <<'SH'
#!/bin/bash
exec 5<"$1" 6>"$2"
while read -r cmd <&5; do
  case $cmd in
  ping) printf o >&6; sleep 0.3; printf 'k 854\n' >&6 ;;
  die) exit 1 ;;
  esac
done
SH
  chmod +x "$W/slow_target"
  FIX=$W NORUNTIME=1 start_ctl_target slow slow_target "$W" "$W/slow.ctl" "$W/slow.ack"
  local i
  for ((i = 0; i < 3; i++)); do
    assert_equal "$(ctl slow ping)" "ok 854"
  done
  SECONDS=0
  run ctl slow die
  assert_failure
  assert_output --partial "died before answering 'die'"
  [ "$SECONDS" -lt 5 ] || fail "the death was noticed after $SECONDS s"
}
