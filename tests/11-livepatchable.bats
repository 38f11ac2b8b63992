#!/usr/bin/env bats
# ulp livepatchable LIB (docs/cli-contract.md)
load helpers

# number of entries in __patchable_function_entries (8 bytes each)
patchable_count() {
  local size
  size=$(readelf -SW "$1" | awk '$2 == "__patchable_function_entries" { print $6 }')
  echo $((16#$size / 8))
}

@test "livepatchable: library built with -fpatchable-function-entry=16,14" {
  local n
  n=$(patchable_count "$LIB/libdemo.so.1")
  [ "$n" -gt 0 ]
  run --separate-stderr "$ULP" livepatchable "$LIB/libdemo.so.1"
  assert_success
  assert_output "$LIB/libdemo.so.1: livepatchable ($n patchable functions)"
  assert_equal "$stderr" ""
}

@test "livepatchable: library with endbr64 entries (-fcf-protection=full)" {
  # the fixture really starts its exported functions with endbr64
  run objdump -d --no-show-raw-insn "$LIBCET/libdemo.so.1"
  assert_output --regexp "<demo_message>:"$'\n'" +[0-9a-f]+:"$'\t'"endbr64"
  local n
  n=$(patchable_count "$LIBCET/libdemo.so.1")
  run --separate-stderr "$ULP" livepatchable "$LIBCET/libdemo.so.1"
  assert_success
  assert_output "$LIBCET/libdemo.so.1: livepatchable ($n patchable functions)"
}

@test "livepatchable: library built without the flags -> exit 1 with the reason" {
  run --separate-stderr "$ULP" livepatchable "$LIBPLAIN/libplain.so.1"
  assert_failure 1
  assert_output ""
  [[ $stderr == "ulp livepatchable: "* ]] || fail "stderr: $stderr"
  [[ $stderr == *"not livepatchable: no __patchable_function_entries section (build with -fpatchable-function-entry=16,14)"* ]] ||
    fail "stderr: $stderr"
}

@test "livepatchable: patch areas of another size -> exit 1" {
  run --separate-stderr "$ULP" livepatchable "$FIX/lib-badpad/libdemo.so.1"
  assert_failure 1
  [[ $stderr == "ulp livepatchable: "* ]] || fail "stderr: $stderr"
  [[ $stderr == *"not livepatchable"* || $stderr == *"patch areas are not 16,14 NOPs"* ]] ||
    fail "stderr: $stderr"
}

@test "livepatchable: missing file -> exit 2" {
  run --separate-stderr "$ULP" livepatchable "$W/nothing.so"
  assert_failure 2
  assert_output ""
  [[ $stderr == "ulp livepatchable: "* ]] || fail "stderr: $stderr"
}

@test "livepatchable: not an ELF file -> exit 2" {
  echo "just text" >"$W/text.so"
  run --separate-stderr "$ULP" livepatchable "$W/text.so"
  assert_failure 2
  [[ $stderr == "ulp livepatchable: "* ]] || fail "stderr: $stderr"
  head -c 3000 /dev/urandom >"$W/random.so"
  run --separate-stderr "$ULP" livepatchable "$W/random.so"
  assert_failure 2
  [[ $stderr == "ulp livepatchable: "* ]] || fail "stderr: $stderr"
}

@test "livepatchable: no argument is a usage error" {
  run "$ULP" livepatchable
  assert_failure 2
}
