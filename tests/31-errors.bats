#!/usr/bin/env bats
# Errors for one PID (-p N: a would-be skip is FAILED, exit 1), skips
# without -p, and bad containers (exit 2, nothing touched, the target keeps
# its code and still takes a good patch afterwards).
load helpers

@test "-p PID: no such process" {
  pack p1 patch1 "$LIB"
  local dead
  dead=$(dead_pid)
  run "$ULP" trigger -p "$dead" "$W/p1.so"
  assert_failure 1
  assert_line --regexp "^.* \(pid $dead\): FAILED $W/p1.so: no such process$"
  assert_line "summary: 0 succeeded, 0 skipped, 1 failed"
}

@test "-p PID: a process without the runtime is patched all the same" {
  pack p1 patch1 "$LIB"
  NORUNTIME=1 start_demo out "$LIB"
  ! grep -q libpulp "/proc/$LAST/maps" || fail "the runtime is mapped"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $LAST): SUCCESS $W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  # what the tool mapped is named in the maps, and nothing came from a file
  grep -q '/memfd:ulp-state' "/proc/$LAST/maps" || fail "no state mapping"
  grep -q '/memfd:ulp:p1.so' "/proc/$LAST/maps" || fail "no container mapping"
  ! grep -q "$W/p1.so" "/proc/$LAST/maps" || fail "the container file is mapped"
}

@test "-p PID: library not mapped" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIBPLAIN" plain_target
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_line --regexp "^plain_target \(pid $LAST\): FAILED $W/p1.so: library (libdemo.so.1 )?not mapped\$"
  assert_alive "$LAST"
  stays_content "$W/out.out" "plain 8"
}

@test "-p PID: build-ID mismatch" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIBV2"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_line "demo_target (pid $LAST): FAILED $W/p1.so: build-ID mismatch"
  assert_line "summary: 0 succeeded, 0 skipped, 1 failed"
  stays_content "$W/out.out" "original v2 11"
  run "$ULP" check -p "$LAST" "$W/p1.so"
  assert_failure 1
}

@test "-p PID: already applied" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  "$ULP" trigger -q -p "$LAST" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_line "demo_target (pid $LAST): FAILED $W/p1.so: already applied"
  assert_line "summary: 0 succeeded, 0 skipped, 1 failed"
  stays_content "$W/out.out" "patched 1 11"
  # applied once, not twice: one revert restores the original
  "$ULP" trigger -q --revert -p "$LAST" "$W/p1.so"
  wait_for_file_content "$W/out.out" "original 11"
  run "$ULP" patches -p "$LAST" --json
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["processes"][0]["patches"] == [], d' <<<"$output"
}

@test "-p PID --revert: not applied" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  run "$ULP" trigger --revert -p "$LAST" "$W/p1.so"
  assert_failure 1
  assert_line "demo_target (pid $LAST): FAILED $W/p1.so: not applied"
  stays_content "$W/out.out" "original 11"
}

@test "-p PID: one failure among several patches fails the command, the others apply" {
  pack p1 patch1 "$LIB"
  pack pv patch_variant "$LIBV2"
  start_demo out "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/pv.so" "$W/p1.so"
  assert_failure 1
  assert_line "demo_target (pid $LAST): FAILED $W/pv.so: build-ID mismatch"
  assert_line "demo_target (pid $LAST): SUCCESS $W/p1.so"
  assert_line "summary: 1 succeeded, 0 skipped, 1 failed"
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "without -p the same situations are skips, exit 0" {
  local U1 U2
  U1=$(unique_lib)
  U2=$(unique_lib v2)
  pack p1 patch1 "$U1"
  start_demo v2 "$U2"
  local v2=$LAST
  start_demo done "$U1"
  local done=$LAST
  "$ULP" trigger -q -p "$done" "$W/p1.so"
  start_demo fresh "$U1"
  local fresh=$LAST
  start_demo plain "$LIBPLAIN" plain_target
  local plain=$LAST
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $v2): SKIPPED $W/p1.so: build-ID mismatch"
  assert_line "demo_target (pid $done): SKIPPED $W/p1.so: already applied"
  assert_line "demo_target (pid $fresh): SUCCESS $W/p1.so"
  refute_output --partial "(pid $plain)"
  refute_output --partial "FAILED"
  assert_line --regexp '^summary: 1 succeeded, [0-9]+ skipped, 0 failed$'
  wait_for_file_content "$W/fresh.out" "patched 1 11"
  stays_content "$W/v2.out" "original v2 11"
  # revert without -p: the one where it is not applied is a skip
  run "$ULP" trigger --revert "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $done): SUCCESS $W/p1.so"
  assert_line "demo_target (pid $fresh): SUCCESS $W/p1.so"
  refute_output --partial "FAILED"
}

# --- bad containers ------------------------------------------------------------

# bad_container KIND FILE: writes a broken container of that kind to FILE
bad_container() {
  local kind=$1 file=$2 size
  case $kind in
  truncated)
    pack good patch1 "$LIB" "$W/src"
    size=$(stat -c %s "$W/src/good.so")
    head -c $((size / 2)) "$W/src/good.so" >"$file"
    ;;
  header-only)
    pack good patch1 "$LIB" "$W/src"
    head -c 64 "$W/src/good.so" >"$file"
    ;;
  random) head -c 16384 /dev/urandom >"$file" ;;
  empty) : >"$file" ;;
  text) echo "#!/bin/sh" >"$file" ;;
  no-metadata) cp "$FIX/patch1.so" "$file" ;;
  corrupt-metadata)
    # a valid ELF whose .ulp section is overwritten with 0xff bytes
    pack good patch1 "$LIB" "$W/src"
    cp "$W/src/good.so" "$file"
    python3 - "$file" <<'PY'
import subprocess, sys
path = sys.argv[1]
out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
for line in out.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] == ".ulp":
        off, size = int(f[4], 16), int(f[5], 16)
        with open(path, "r+b") as fh:
            fh.seek(off)
            fh.write(b"\xff" * size)
        break
else:
    sys.exit("no .ulp section")
PY
    ;;
  missing) rm -f "$file" ;;
  esac
}

# every kind: exit 2, a message naming the container, the process untouched
# (still running the code it had) and still patchable afterwards.
check_bad_container() {
  local kind=$1 r
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  start_demo out "$LIB"
  local pid=$LAST
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  bad_container "$kind" "$W/bad.so"
  # with -p, without -p, and next to a good container: nothing is touched
  run --separate-stderr "$ULP" trigger -p "$pid" "$W/bad.so"
  assert_failure 2
  [[ $stderr == "ulp trigger: "*"$W/bad.so"* ]] || fail "no message naming the container: $stderr"
  refute_output --partial SUCCESS
  run --separate-stderr "$ULP" trigger "$W/bad.so"
  assert_failure 2
  run --separate-stderr "$ULP" trigger -p "$pid" "$W/p2.so" "$W/bad.so"
  assert_failure 2
  refute_output --partial SUCCESS
  run --separate-stderr "$ULP" trigger -p "$pid" --revert-all=target "$W/bad.so"
  assert_failure 2
  run --separate-stderr "$ULP" trigger --revert -p "$pid" "$W/bad.so"
  assert_failure 2
  assert_alive "$pid"
  stays_content "$W/out.out" "patched 1 11"
  run "$ULP" check -p "$pid" "$W/p1.so"
  assert_success
  run "$ULP" check -p "$pid" "$W/p2.so"
  assert_failure 1
  # a good patch still goes in, and out
  run "$ULP" trigger -p "$pid" "$W/p2.so"
  assert_success
  wait_for_file_content "$W/out.out" "patched 2 11"
  "$ULP" trigger -q --revert -p "$pid" "$W/p2.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "bad container: truncated" { check_bad_container truncated; }
@test "bad container: ELF header only" { check_bad_container header-only; }
@test "bad container: random bytes" { check_bad_container random; }
@test "bad container: empty file" { check_bad_container empty; }
@test "bad container: not an ELF file" { check_bad_container text; }
@test "bad container: shared object without metadata (not packed)" { check_bad_container no-metadata; }
@test "bad container: corrupted metadata" { check_bad_container corrupt-metadata; }
@test "bad container: missing file" { check_bad_container missing; }

@test "bad container: check and dump report it without crashing" {
  start_demo out "$LIB"
  local kind
  for kind in random empty no-metadata corrupt-metadata missing; do
    bad_container "$kind" "$W/bad.so"
    run "$ULP" check -p "$LAST" "$W/bad.so"
    assert_failure 2
    run "$ULP" dump "$W/bad.so"
    [ "$status" -eq 1 ] || [ "$status" -eq 2 ] || fail "dump ($kind): exit $status"
  done
}
