#!/usr/bin/env bats
# Which processes and which containers a trigger picks: wildcard PATCH with
# containers for two builds, -p NAME and -p 'wild*'.
load helpers

@test "wildcard PATCH: each process gets only the container for its build" {
  local U1 U2
  U1=$(unique_lib)
  U2=$(unique_lib v2)
  mkdir -p "$W/pkg"
  pack p1 patch1 "$U1" "$W/pkg"
  pack pv patch_variant "$U2" "$W/pkg"
  rm "$W/pkg"/*.dsc
  start_demo a "$U1"
  local a=$LAST
  start_demo b "$U2"
  local b=$LAST
  start_demo c "$U1" other_target
  local c=$LAST
  run --separate-stderr "$ULP" trigger "$W/pkg/*.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/pkg/p1.so"
  assert_line "demo_target (pid $a): SKIPPED $W/pkg/pv.so: build-ID mismatch"
  assert_line "demo_target (pid $b): SUCCESS $W/pkg/pv.so"
  assert_line "demo_target (pid $b): SKIPPED $W/pkg/p1.so: build-ID mismatch"
  assert_line "other_target (pid $c): SUCCESS $W/pkg/p1.so"
  assert_line "other_target (pid $c): SKIPPED $W/pkg/pv.so: build-ID mismatch"
  refute_output --partial "FAILED"
  assert_line --regexp '^summary: 3 succeeded, [0-9]+ skipped, 0 failed$'
  [[ ${lines[-1]} == summary:* ]] || fail "the summary is not the last line"
  wait_for_file_content "$W/a.out" "patched 1 11"
  wait_for_file_content "$W/b.out" "patched variant 11"
  wait_for_file_content "$W/c.out" "patched 1 11"
  # and the revert works the same way
  run "$ULP" trigger --revert "$W/pkg/*.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/pkg/p1.so"
  assert_line "demo_target (pid $b): SUCCESS $W/pkg/pv.so"
  wait_for_file_content "$W/a.out" "original 11"
  wait_for_file_content "$W/b.out" "original v2 11"
  wait_for_file_content "$W/c.out" "original 11"
}

@test "wildcard PATCH with -p PID: the mismatching build is an error, the matching one applies" {
  mkdir -p "$W/pkg"
  pack p1 patch1 "$LIB" "$W/pkg"
  pack pv patch_variant "$LIBV2" "$W/pkg"
  rm "$W/pkg"/*.dsc
  start_demo b "$LIBV2"
  run "$ULP" trigger -p "$LAST" "$W/pkg/*.so"
  assert_failure 1
  assert_line "demo_target (pid $LAST): FAILED $W/pkg/p1.so: build-ID mismatch"
  assert_line "demo_target (pid $LAST): SUCCESS $W/pkg/pv.so"
  assert_line "summary: 1 succeeded, 0 skipped, 1 failed"
  wait_for_file_content "$W/b.out" "patched variant 11"
}

@test "wildcard PATCH that also matches an unpacked build: that file is left out with a note, the containers apply" {
  mkdir -p "$W/pkg"
  pack p1 patch1 "$LIB" "$W/pkg"
  cp "$FIX/patch_a.so" "$W/pkg/unpacked.so"
  rm "$W/pkg"/*.dsc
  start_demo a "$LIB"
  run --separate-stderr "$ULP" trigger -p "$LAST" "$W/pkg/*.so"
  assert_success
  assert_line "demo_target (pid $LAST): SUCCESS $W/pkg/p1.so"
  [[ $stderr == *"$W/pkg/unpacked.so (matched by '$W/pkg/*.so'): not a packed live patch, left out"* ]] ||
    fail "stderr: $stderr"
  wait_for_file_content "$W/a.out" "patched 1 11"
  # named outright, it is an error, and nothing is applied
  run --separate-stderr "$ULP" trigger -p "$LAST" --revert "$W/pkg/p1.so" "$W/pkg/unpacked.so"
  assert_failure 2
  [[ $stderr == *"no live patch metadata"* ]] || fail "stderr: $stderr"
  stays_content "$W/a.out" "patched 1 11"
  # a wildcard with nothing packed behind it is an error too
  run --separate-stderr "$ULP" trigger -p "$LAST" "$W/pkg/unp*.so"
  assert_failure 2
  [[ $stderr == *"no packed live patch matches"* ]] || fail "stderr: $stderr"
}

@test "wildcard PATCH matching nothing is a usage error" {
  start_demo a "$LIB"
  run --separate-stderr "$ULP" trigger -p "$LAST" "$W/nothing-here/*.so"
  assert_failure 2
  [[ $stderr == "ulp trigger: "* ]] || fail "stderr: $stderr"
  stays_content "$W/a.out" "original 11"
}

@test "-p NAME: only processes with that name" {
  local U1 U2
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a1 "$U1"
  local a1=$LAST
  start_demo a2 "$U1"
  local a2=$LAST
  start_demo o "$U1" other_target
  local o=$LAST
  run "$ULP" trigger -p demo_target "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a1): SUCCESS $W/p1.so"
  assert_line "demo_target (pid $a2): SUCCESS $W/p1.so"
  refute_output --partial "(pid $o)"
  assert_line --regexp '^summary: 2 succeeded, [0-9]+ skipped, 0 failed$'
  wait_for_file_content "$W/a1.out" "patched 1 11"
  wait_for_file_content "$W/a2.out" "patched 1 11"
  stays_content "$W/o.out" "original 11"
  run "$ULP" trigger -p other_target "$W/p1.so"
  assert_success
  assert_line "other_target (pid $o): SUCCESS $W/p1.so"
  refute_output --partial "(pid $a1)"
  wait_for_file_content "$W/o.out" "patched 1 11"
}

@test "-p 'wild*': processes whose name matches the pattern" {
  local U1 U2
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a "$U1"
  local a=$LAST
  start_demo o "$U1" other_target
  local o=$LAST
  run "$ULP" trigger -p 'oth*' "$W/p1.so"
  assert_success
  assert_line "other_target (pid $o): SUCCESS $W/p1.so"
  refute_output --partial "(pid $a)"
  wait_for_file_content "$W/o.out" "patched 1 11"
  stays_content "$W/a.out" "original 11"
  run "$ULP" trigger -p '*_t?rget' "$W/p1.so"
  assert_line "demo_target (pid $a): SUCCESS $W/p1.so"
  wait_for_file_content "$W/a.out" "patched 1 11"
  # other_target already had it
  refute_line "other_target (pid $o): SUCCESS $W/p1.so"
}

@test "-p 'wild*' with --revert and patches -p" {
  local U1 U2
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a "$U1"
  local a=$LAST
  start_demo o "$U1" other_target
  local o=$LAST
  "$ULP" trigger -q -p "$a" "$W/p1.so"
  "$ULP" trigger -q -p "$o" "$W/p1.so"
  wait_for_file_content "$W/a.out" "patched 1 11"
  wait_for_file_content "$W/o.out" "patched 1 11"
  run "$ULP" trigger --revert -p 'demo*' "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/p1.so"
  refute_output --partial "(pid $o)"
  wait_for_file_content "$W/a.out" "original 11"
  stays_content "$W/o.out" "patched 1 11"
}
