#!/usr/bin/env bats
# The admin's exclusions in ulp.conf: processes no trigger touches, by name
# (exclude = GLOB...) or by cgroup (exclude_cgroup = PATH...).
load helpers

@test "exclude = GLOB: a process named so is skipped with the reason, others are patched" {
  local U1 a c
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  echo "exclude = other_t* postgres" >"$ULP_CONFIG"
  start_demo a "$U1"
  a=$LAST
  start_demo c "$U1" other_target
  c=$LAST
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a): SUCCESS $W/p1.so"
  assert_line "other_target (pid $c): SKIPPED $W/p1.so: excluded by $ULP_CONFIG (exclude = other_t*)"
  wait_for_file_content "$W/a.out" "patched 1 11"
  stays_content "$W/c.out" "original 11"
  # named explicitly, it is a failure: what was asked for did not happen
  run "$ULP" trigger -p "$c" "$W/p1.so"
  assert_failure 1
  assert_line "other_target (pid $c): FAILED $W/p1.so: excluded by $ULP_CONFIG (exclude = other_t*)"
  stays_content "$W/c.out" "original 11"
}

@test "exclude_cgroup = PATH: processes in that cgroup (or below) are skipped" {
  local U1 cg
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a "$U1"
  cg=$(sed -n 's/^0:://p' "/proc/$LAST/cgroup")
  [ -n "$cg" ] || skip "no cgroup v2 path in /proc/$LAST/cgroup"
  echo "exclude_cgroup = /no/such/cgroup" >"$ULP_CONFIG"
  run "$ULP" trigger -p "$LAST" --revert "$W/p1.so"
  assert_output --partial "not applied"
  echo "exclude_cgroup = $cg" >"$ULP_CONFIG"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_output --partial "excluded by $ULP_CONFIG (exclude_cgroup = $cg)"
  stays_content "$W/a.out" "original 11"
}

@test "a malformed exclusion is an error naming the line; nothing is touched" {
  local U1
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  start_demo a "$U1"
  printf '# local policy\nexclude_cgroup = system.slice\n' >"$ULP_CONFIG"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_failure 2
  assert_output --partial "$ULP_CONFIG:2: exclude_cgroup takes cgroup paths"
  stays_content "$W/a.out" "original 11"
}

@test "SUSE libpulp's opt-outs in the program's environment (LIBPULP_DISABLE_ON_PATH, _USERS, _GROUPS): skipped with the reason" {
  local U1 a b c d prog
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  prog=$(readlink -f "$FIX/demo_target")
  LIBPULP_DISABLE_ON_PATH="/nowhere/*:${prog%/*}/demo_*" start_demo a "$U1"
  a=$LAST
  LIBPULP_DISABLE_ON_USERS="nobody:$(id -u)" start_demo b "$U1"
  b=$LAST
  LIBPULP_DISABLE_ON_GROUPS="$(id -gn)" start_demo c "$U1"
  c=$LAST
  LIBPULP_DISABLE_ON_PATH="/nowhere/*" LIBPULP_DISABLE_ON_USERS=nobody start_demo d "$U1"
  d=$LAST
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $a): SKIPPED $W/p1.so: it opted out (LIBPULP_DISABLE_ON_PATH: ${prog%/*}/demo_*)"
  assert_line "demo_target (pid $b): SKIPPED $W/p1.so: it opted out (LIBPULP_DISABLE_ON_USERS: $(id -u))"
  assert_line "demo_target (pid $c): SKIPPED $W/p1.so: it opted out (LIBPULP_DISABLE_ON_GROUPS: $(id -gn))"
  assert_line "demo_target (pid $d): SUCCESS $W/p1.so"
  wait_for_file_content "$W/d.out" "patched 1 11"
  stays_content "$W/a.out" "original 11"
  stays_content "$W/b.out" "original 11"
  stays_content "$W/c.out" "original 11"
}
