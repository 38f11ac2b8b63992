#!/usr/bin/env bats
# Patches on the same function stack; --revert-all (alone and with a PATCH).
load helpers

setup_stack() {
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  start_demo out "$LIB"
  PID=$LAST
}

@test "stacking: apply p1, p2; revert p2 -> p1; revert p1 -> original" {
  setup_stack
  "$ULP" trigger -q -p "$PID" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" trigger -p "$PID" "$W/p2.so"
  assert_success
  assert_line "demo_target (pid $PID): SUCCESS $W/p2.so"
  wait_for_file_content "$W/out.out" "patched 2 11"
  run "$ULP" trigger --revert -p "$PID" "$W/p2.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" check -p "$PID" "$W/p1.so"
  assert_success
  run "$ULP" check -p "$PID" "$W/p2.so"
  assert_failure 1
  run "$ULP" trigger --revert -p "$PID" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
}

@test "stacking: reverting the older patch keeps the newer one active" {
  setup_stack
  "$ULP" trigger -q -p "$PID" "$W/p1.so"
  "$ULP" trigger -q -p "$PID" "$W/p2.so"
  wait_for_file_content "$W/out.out" "patched 2 11"
  run "$ULP" trigger --revert -p "$PID" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $PID): SUCCESS $W/p1.so"
  stays_content "$W/out.out" "patched 2 11"
  run "$ULP" check -p "$PID" "$W/p1.so"
  assert_failure 1
  run "$ULP" check -p "$PID" "$W/p2.so"
  assert_success
  run "$ULP" trigger --revert -p "$PID" "$W/p2.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
}

@test "stacking: two patches in one command apply in the order given" {
  setup_stack
  run "$ULP" trigger -p "$PID" "$W/p1.so" "$W/p2.so"
  assert_success
  assert_line "demo_target (pid $PID): SUCCESS $W/p1.so"
  assert_line "demo_target (pid $PID): SUCCESS $W/p2.so"
  assert_line "summary: 2 succeeded, 0 skipped, 0 failed"
  wait_for_file_content "$W/out.out" "patched 2 11"
  run "$ULP" trigger --revert -p "$PID" "$W/p2.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "stacking: a third patch on another function of the same library" {
  setup_stack
  pack s patch_scale "$LIB"
  "$ULP" trigger -q -p "$PID" "$W/p1.so"
  "$ULP" trigger -q -p "$PID" "$W/s.so"
  "$ULP" trigger -q -p "$PID" "$W/p2.so"
  wait_for_file_content "$W/out.out" "patched 2 101"
  "$ULP" trigger -q --revert -p "$PID" "$W/p2.so"
  wait_for_file_content "$W/out.out" "patched 1 101"
  "$ULP" trigger -q --revert -p "$PID" "$W/s.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "revert-all=libdemo.so.1 removes every patch on the library" {
  setup_stack
  pack s patch_scale "$LIB"
  "$ULP" trigger -q -p "$PID" "$W/p1.so" "$W/s.so" "$W/p2.so"
  wait_for_file_content "$W/out.out" "patched 2 101"
  run --separate-stderr "$ULP" trigger -p "$PID" --revert-all=libdemo.so.1
  assert_success
  assert_output "demo_target (pid $PID): SUCCESS revert-all=libdemo.so.1
summary: 1 succeeded, 0 skipped, 0 failed"
  wait_for_file_content "$W/out.out" "original 11"
  local p
  for p in p1 s p2; do
    run "$ULP" check -p "$PID" "$W/$p.so"
    assert_failure 1
  done
  run "$ULP" patches -p "$PID" --json
  assert_success
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["processes"][0]["patches"] == [], d' <<<"$output"
  # and the process takes patches again
  "$ULP" trigger -q -p "$PID" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "revert-all=target + PATCH: the new patch replaces the old ones" {
  setup_stack
  "$ULP" trigger -q -p "$PID" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" trigger -p "$PID" --revert-all=target "$W/p2.so"
  assert_success
  assert_line "demo_target (pid $PID): SUCCESS $W/p2.so"
  assert_line "summary: 1 succeeded, 0 skipped, 0 failed"
  wait_for_file_content "$W/out.out" "patched 2 11"
  run "$ULP" check -p "$PID" "$W/p1.so"
  assert_failure 1
  run "$ULP" check -p "$PID" "$W/p2.so"
  assert_success
  run "$ULP" patches -p "$PID" --json
  python3 -c '
import json, sys
d = json.load(sys.stdin)
got = [p["container"] for p in d["processes"][0]["patches"]]
assert got == [sys.argv[1]], got' "$W/p2.so" <<<"$output"
  # reverting the only patch left gives the original back
  "$ULP" trigger -q --revert -p "$PID" "$W/p2.so"
  wait_for_file_content "$W/out.out" "original 11"
}

@test "revert-all=libdemo.so.1 + PATCH: only the new patch remains" {
  setup_stack
  pack s patch_scale "$LIB"
  "$ULP" trigger -q -p "$PID" "$W/p1.so" "$W/s.so"
  wait_for_file_content "$W/out.out" "patched 1 101"
  run "$ULP" trigger -p "$PID" --revert-all=libdemo.so.1 "$W/p2.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched 2 11"
  run "$ULP" patches -p "$PID" --json
  python3 -c '
import json, sys
d = json.load(sys.stdin)
got = [p["container"] for p in d["processes"][0]["patches"]]
assert got == [sys.argv[1]], got' "$W/p2.so" <<<"$output"
}

# monitor_target: proves the original never ran during the replacement,
# i.e. the revert of the old patches and the new patch happened in one stop.
revert_all_in_one_stop() {
  local how=$1 r i
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  start_ctl_target mon monitor_target "$LIB" 3 "$W/mon.ctl" "$W/mon.ack"
  local pid=$LAST
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  for i in 1 2 3 4 5 6 7 8 9 10; do
    # p1 -> p2
    r=$(ctl mon mark)
    [[ $r == "marked "* ]] || fail "mark: $r"
    "$ULP" trigger -q -p "$pid" --revert-all="$how" "$W/p2.so"
    r=$(ctl mon check)
    [[ $r =~ orig_since_mark=0\ patched_results=[1-9][0-9]*\ original_results=0 ]] ||
      fail "round $i: the original ran while p1 was replaced by p2: $r"
    # p2 -> p1
    r=$(ctl mon mark)
    "$ULP" trigger -q -p "$pid" --revert-all="$how" "$W/p1.so"
    r=$(ctl mon check)
    [[ $r =~ orig_since_mark=0\ patched_results=[1-9][0-9]*\ original_results=0 ]] ||
      fail "round $i: the original ran while p2 was replaced by p1: $r"
  done
  run "$ULP" check -p "$pid" "$W/p1.so"
  assert_success
  run "$ULP" check -p "$pid" "$W/p2.so"
  assert_failure 1
}

@test "revert-all=target + PATCH happen in one stop (original never runs)" {
  revert_all_in_one_stop target
}

@test "revert-all=libdemo.so.1 + PATCH happen in one stop (original never runs)" {
  revert_all_in_one_stop libdemo.so.1
}

@test "revert-all=target + a PATCH that is already applied: it stays, alone" {
  setup_stack
  "$ULP" trigger -q -p "$PID" "$W/p2.so" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  # reverting everything on the target and applying p1 leaves exactly p1
  run "$ULP" trigger -p "$PID" --revert-all=target "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $PID): SUCCESS $W/p1.so"
  stays_content "$W/out.out" "patched 1 11"
  run "$ULP" check -p "$PID" "$W/p2.so"
  assert_failure 1
  run "$ULP" check -p "$PID" "$W/p1.so"
  assert_success
}
