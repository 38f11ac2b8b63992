#!/usr/bin/env bats
# ulp trigger (apply / revert) and ulp check against real processes.
load helpers

@test "trigger -p PID: apply changes the running code, revert restores it" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  local pid=$LAST
  run --separate-stderr "$ULP" trigger -p "$pid" "$W/p1.so"
  assert_success
  assert_equal "$stderr" ""
  assert_output "demo_target (pid $pid): SUCCESS $W/p1.so
summary: 1 succeeded, 0 skipped, 0 failed"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run --separate-stderr "$ULP" trigger --revert -p "$pid" "$W/p1.so"
  assert_success
  assert_output "demo_target (pid $pid): SUCCESS $W/p1.so
summary: 1 succeeded, 0 skipped, 0 failed"
  wait_for_file_content "$W/out.out" "original 11"
  assert_alive "$pid"
}

@test "trigger: revert restores the patch area byte for byte" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  local pid=$LAST addr orig patched after
  addr=$(($(entry_addr "$pid" "$LIB/libdemo.so.1" demo_message) - 14))
  orig=$(peek "$pid" "$(printf %x "$addr")" 16)
  # the area is what the file holds: 16 NOPs without -fcf-protection
  assert_equal "$orig" "$(file_bytes "$LIB/libdemo.so.1" "$(($(symbol_value "$LIB/libdemo.so.1" demo_message) - 14))" 16)"
  assert_equal "$orig" "90909090909090909090909090909090"
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  patched=$(peek "$pid" "$(printf %x "$addr")" 16)
  [ "$patched" != "$orig" ] || fail "patch area unchanged while patched"
  "$ULP" trigger -q --revert -p "$pid" "$W/p1.so"
  wait_for_file_content "$W/out.out" "original 11"
  after=$(peek "$pid" "$(printf %x "$addr")" 16)
  assert_equal "$after" "$orig"
}

@test "trigger: functions starting with endbr64 (-fcf-protection=full)" {
  pack p1 patch1 "$LIBCET"
  start_demo out "$LIBCET"
  local pid=$LAST addr before
  addr=$(entry_addr "$pid" "$LIBCET/libdemo.so.1" demo_message)
  before=$(peek "$pid" "$(printf %x $((addr - 14)))" 20)
  assert_equal "${before:28:8}" "f30f1efa" # endbr64 at the entry
  run "$ULP" trigger -p "$pid" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $pid): SUCCESS $W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  # indirect-branch targets must stay valid: endbr64 is still the first
  # instruction of the function
  assert_equal "$(peek "$pid" "$(printf %x "$addr")" 4)" "f30f1efa"
  run "$ULP" trigger --revert -p "$pid" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
  assert_equal "$(peek "$pid" "$(printf %x $((addr - 14)))" 20)" "$before"
}

@test "trigger: a non-exported (static) function is patched" {
  pack s patch_scale "$LIB"
  start_demo out "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/s.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 101"
  run "$ULP" trigger --revert -p "$LAST" "$W/s.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
}

@test "trigger: a patch of two functions replaces both at once" {
  pack m patch_multi "$LIB"
  start_demo out "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/m.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched multi 1001"
  run "$ULP" trigger --revert -p "$LAST" "$W/m.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
}

@test "trigger: the same patch applies again after a revert" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  local i
  for i in 1 2 3; do
    "$ULP" trigger -q -p "$LAST" "$W/p1.so"
    wait_for_file_content "$W/out.out" "patched 1 11"
    "$ULP" trigger -q --revert -p "$LAST" "$W/p1.so"
    wait_for_file_content "$W/out.out" "original 11"
  done
}

@test "trigger without -p: every process with the library, with or without the runtime" {
  local U1 U2
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a "$U1"
  local a=$LAST
  start_demo b "$U1" other_target
  local b=$LAST
  NORUNTIME=1 start_demo c "$U1"
  local c=$LAST
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/p1.so"
  assert_line "other_target (pid $b): SUCCESS $W/p1.so"
  assert_line "demo_target (pid $c): SUCCESS $W/p1.so"
  assert_line --regexp '^summary: 3 succeeded, [0-9]+ skipped, 0 failed$'
  wait_for_file_content "$W/a.out" "patched 1 11"
  wait_for_file_content "$W/b.out" "patched 1 11"
  wait_for_file_content "$W/c.out" "patched 1 11"
  run "$ULP" trigger --revert "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/p1.so"
  assert_line "other_target (pid $b): SUCCESS $W/p1.so"
  wait_for_file_content "$W/a.out" "original 11"
  wait_for_file_content "$W/b.out" "original 11"
}

@test "trigger -q: nothing on success, FAILED lines still printed" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  run --separate-stderr "$ULP" trigger -q -p "$LAST" "$W/p1.so"
  assert_success
  assert_output ""
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" trigger -q -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_output "demo_target (pid $LAST): FAILED $W/p1.so: already applied"
}

@test "trigger: --timeout and --retries are accepted" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  run "$ULP" trigger --timeout=20 --retries=5 -p "$LAST" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "trigger: usage errors exit 2 and touch nothing" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  run --separate-stderr "$ULP" trigger -p "$LAST"
  assert_failure 2
  [[ $stderr == "ulp trigger: "* || $stderr == "usage"* ]] || fail "stderr: $stderr"
  run "$ULP" trigger --no-such-option -p "$LAST" "$W/p1.so"
  assert_failure 2
  run "$ULP" trigger -p "$LAST" --timeout=banana "$W/p1.so"
  assert_failure 2
  run "$ULP" trigger -p
  assert_failure 2
  run "$ULP" check -p "$LAST" "$W/p1.so"
  assert_failure 1
  stays_content "$W/out.out" "original 11"
}

@test "check: 0 applied, 1 not applied, 2 on errors" {
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  start_demo out "$LIB"
  local pid=$LAST
  run --separate-stderr "$ULP" check -p "$pid" "$W/p1.so"
  assert_failure 1
  assert_output "not applied"
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  run --separate-stderr "$ULP" check -p "$pid" "$W/p1.so"
  assert_success
  assert_output "applied"
  run "$ULP" check -p "$pid" "$W/p2.so"
  assert_failure 1
  assert_output "not applied"
  "$ULP" trigger -q --revert -p "$pid" "$W/p1.so"
  run "$ULP" check -p "$pid" "$W/p1.so"
  assert_failure 1
  # errors
  run --separate-stderr "$ULP" check -p "$(dead_pid)" "$W/p1.so"
  assert_failure 2
  [[ $stderr == "ulp check: "* ]] || fail "stderr: $stderr"
  run --separate-stderr "$ULP" check -p "$pid" "$W/missing.so"
  assert_failure 2
  [[ $stderr == "ulp check: "* ]] || fail "stderr: $stderr"
  cp "$FIX/patch1.so" "$W/raw.so"
  run "$ULP" check -p "$pid" "$W/raw.so"
  assert_failure 2
  run "$ULP" check "$W/p1.so"
  assert_failure 2
}

@test "check: a process never patched, without the runtime: not applied" {
  pack p1 patch1 "$LIB"
  NORUNTIME=1 start_demo out "$LIB"
  run --separate-stderr "$ULP" check -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_output "not applied"
}

@test "trigger: library deleted on disk after the process started" {
  mkdir -p "$W/dl"
  cp "$LIB/libdemo.so.1" "$W/dl/libdemo.so.1"
  pack p1 patch1 "$W/dl"
  start_demo out "$W/dl"
  rm "$W/dl/libdemo.so.1"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $LAST): SUCCESS $W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" trigger --revert -p "$LAST" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/out.out" "original 11"
}

@test "trigger: library replaced on disk by another build (build-ID from the mapping)" {
  mkdir -p "$W/rl"
  cp "$LIB/libdemo.so.1" "$W/rl/libdemo.so.1"
  pack p1 patch1 "$W/rl"
  start_demo out "$W/rl"
  local pid=$LAST
  # a package upgrade: new file, new inode, same name
  cp "$LIBV2/libdemo.so.1" "$W/rl/libdemo.so.1.new"
  mv "$W/rl/libdemo.so.1.new" "$W/rl/libdemo.so.1"
  # a patch for the build now on disk does not fit the mapped one
  pack pv patch_variant "$W/rl"
  run "$ULP" trigger -p "$pid" "$W/pv.so"
  assert_failure 1
  assert_line "demo_target (pid $pid): FAILED $W/pv.so: build-ID mismatch"
  # the patch for the mapped build does
  run "$ULP" trigger -p "$pid" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $pid): SUCCESS $W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" patches -p "$pid" --json
  assert_success
  assert_output --partial "\"build_id\":\"$(build_id "$LIB/libdemo.so.1")\""
}

@test "trigger: the original code never runs once patched (monitor)" {
  pack p1 patch1 "$LIB"
  start_ctl_target mon monitor_target "$LIB" 3 "$W/mon.ctl" "$W/mon.ack"
  local pid=$LAST r
  r=$(ctl mon mark)
  [[ $r == "marked "* ]] || fail "mark: $r"
  # the test can see the original run
  r=$(ctl mon check)
  [[ $r =~ orig_since_mark=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "check: $r"
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  r=$(ctl mon mark)
  [[ $r == "marked "* ]] || fail "mark: $r"
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    r=$(ctl mon check)
    [[ $r =~ orig_since_mark=0\ patched_results=([0-9]+)\ original_results=0 ]] ||
      fail "original code ran after the patch: $r"
  done
  [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no call made since the mark: $r"
  "$ULP" trigger -q --revert -p "$pid" "$W/p1.so"
  r=$(ctl mon mark)
  r=$(ctl mon check)
  [[ $r =~ orig_since_mark=([0-9]+)\ patched_results=0 ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
    fail "after revert: $r"
  assert_alive "$pid"
}

@test "trigger --timing: one timing line per process" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  run "$ULP" trigger --timing -p "$LAST" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $LAST): SUCCESS $W/p1.so"
  assert_line --regexp "^timing: pid $LAST stopped_us=[0-9]+ thread_max_us=[0-9]+$"
  [ "$(grep -c '^timing:' <<<"$output")" -eq 1 ]
  wait_for_file_content "$W/out.out" "patched 1 11"
}
