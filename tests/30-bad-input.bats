#!/usr/bin/env bats
# Bad containers and arguments: a clear message, a non-zero exit, and the
# target keeps running its previous code and still takes a good patch.
load helpers

# rejected FILE MESSAGE: the trigger refuses FILE before touching anything.
rejected() {
  run "$ULP" trigger -p "$LAST" "$1"
  assert_failure 2
  assert_output --partial "$2"
  run "$ULP" dump "$1"
  assert_failure
  sleep 0.05
  wait_for_output out "patch A"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
}

setup_running_patch() {
  patch_a
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  wait_for_output out "patch A"
}

@test "missing container" {
  setup_running_patch
  rejected "$W/none.so" "no such file"
}

@test "random bytes" {
  setup_running_patch
  head -c 4096 /dev/urandom >"$W/random.so"
  rejected "$W/random.so" "not an ELF file"
}

@test "empty file" {
  setup_running_patch
  : >"$W/empty.so"
  rejected "$W/empty.so" "empty file"
}

@test "container without metadata" {
  setup_running_patch
  cp "$FIX/patch_b.so" "$W/plain.so"
  rejected "$W/plain.so" "no live patch metadata"
}

@test "truncated containers, at many lengths" {
  setup_running_patch
  size=$(stat -c %s "$W/a.so")
  for cut in 16 64 500 2000 4096 $((size / 2)) $((size - 300)) $((size - 40)) $((size - 1)); do
    head -c "$cut" "$W/a.so" >"$W/cut.so"
    run "$ULP" trigger -p "$LAST" "$W/cut.so"
    assert_failure 2
    [ -n "$output" ]
  done
  wait_for_output out "patch A"
}

@test "corrupted metadata bytes" {
  setup_running_patch
  make_patch b patch_b.so "$FIX/v1" demo_message:demo_message_b
  offset=$(section_offset "$W/b.so" .ulp)
  for at in 0 9 12 30 40 60; do
    cp "$W/b.so" "$W/bad.so"
    printf '\xff' | dd of="$W/bad.so" bs=1 seek=$((offset + at)) conv=notrunc status=none
    run "$ULP" trigger -p "$LAST" "$W/bad.so"
    [ "$status" -ne 0 ]
  done
  wait_for_output out "patch A"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
}

@test "a container for another build-ID is refused for that process" {
  setup_running_patch
  make_patch v2 patch_v2.so "$FIX/v2" demo_message:demo_message_v2fix
  run "$ULP" trigger -p "$LAST" "$W/v2.so"
  assert_failure 1
  assert_output --partial "build-ID mismatch"
  wait_for_output out "patch A"
}

@test "a container rebuilt under the same path loads as the new build" {
  setup_running_patch
  "$ULP" trigger -q --revert -p "$LAST" "$W/a.so"
  # a new file renamed into place, as linkers and package managers do
  cp "$FIX/patch_b.so" "$W/new.so"
  mv "$W/new.so" "$W/a.so"
  sed -i 's/demo_message_a/demo_message_b/' "$W/a.dsc"
  "$ULP" packer "$W/a.dsc"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch B"
}

@test "bad arguments" {
  patch_a
  run "$ULP" trigger
  assert_failure 2
  run "$ULP" trigger --timeout=abc "$W/a.so"
  assert_failure 2
  assert_output --partial "--timeout"
  run "$ULP" trigger --retries=-1 "$W/a.so"
  assert_failure 2
  run "$ULP" trigger --revert-all=target
  assert_failure 2
  run "$ULP" nonsense
  assert_failure 2
  run "$ULP" check "$W/a.so"
  assert_failure 2
  run "$ULP" check -p abc "$W/a.so"
  assert_failure 2
}

@test "after every bad input the process still takes a good patch" {
  setup_running_patch
  head -c 999 /dev/urandom >"$W/random.so"
  "$ULP" trigger -p "$LAST" "$W/random.so" || true
  "$ULP" trigger -p "$LAST" "$W/none.so" || true
  patch_b
  run "$ULP" trigger -p "$LAST" --revert-all=target "$W/b.so"
  assert_success
  wait_for_output out "patch B"
}
