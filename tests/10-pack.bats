#!/usr/bin/env bats
# ulp livepatchable, ulp packer, ulp dump.
load helpers

@test "livepatchable: yes for a library built with the flags" {
  run "$ULP" livepatchable "$FIX/v1/libdemo.so.1"
  assert_success
  assert_output --regexp "livepatchable \([0-9]+ patchable functions\)"
}

@test "livepatchable: no, with the reason, for a library built without" {
  run "$ULP" livepatchable "$FIX/plain/libdemo.so.1"
  assert_failure 1
  assert_output --partial "not livepatchable"
  assert_output --partial "-fpatchable-function-entry=16,14"
}

@test "livepatchable: missing and non-ELF files are errors" {
  run "$ULP" livepatchable "$W/nothing.so"
  assert_failure 2
  assert_output --partial "no such file"
  echo "text" >"$W/text.so"
  run "$ULP" livepatchable "$W/text.so"
  assert_failure 2
  assert_output --partial "not an ELF file"
}

@test "packer embeds .ulp and .ulp.rev; dump prints them" {
  make_patch a patch_a.so "$FIX/v1" demo_message:demo_message_a demo_hidden:demo_message_a
  run readelf -S "$W/a.so"
  assert_output --partial " .ulp "
  assert_output --partial " .ulp.rev "
  run "$ULP" dump "$W/a.so"
  assert_success
  assert_output --partial "target:    libdemo.so.1"
  assert_output --partial "functions: 2"
  assert_output --regexp "demo_message -> demo_message_a \(old offset 0x[0-9a-f]+, new offset 0x[0-9a-f]+\)"
  local build_id
  build_id=$(readelf -n "$FIX/v1/libdemo.so.1" | sed -n 's/.*Build ID: //p')
  assert_output --partial "build-id:  $build_id"
  assert_output --regexp "revert: +patch id [0-9a-f]{32}, target libdemo.so.1"
}

@test "packer: re-packing gives the same patch id and still works" {
  patch_a
  first=$("$ULP" dump "$W/a.so" | sed -n 's/^patch id: *//p')
  "$ULP" packer "$W/a.dsc"
  second=$("$ULP" dump "$W/a.so" | sed -n 's/^patch id: *//p')
  assert_equal "$first" "$second"
  run readelf -S "$W/a.so"
  refute_output --partial "Warning"
}

@test "packer: relative paths are taken from the description's folder" {
  cp "$FIX/patch_a.so" "$W/rel.so"
  printf 'rel.so\n@%s\ndemo_message:demo_message_a\n' "$FIX/v1/libdemo.so.1" >"$W/rel.dsc"
  run "$ULP" packer "$W/rel.dsc"
  assert_success
  assert_output --partial "packed $W/rel.so"
}

# refuse LINE MESSAGE: packing $W/bad.dsc fails naming LINE and MESSAGE and
# leaves the container byte for byte as it was.
refuse() {
  cp "$W/bad.so" "$W/before.so"
  run "$ULP" packer "$W/bad.dsc"
  assert_failure
  assert_output --partial "bad.dsc:$1: "
  assert_output --partial "$2"
  cmp "$W/bad.so" "$W/before.so"
}

@test "packer refusals name the line and leave the container unchanged" {
  cp "$FIX/patch_a.so" "$W/bad.so"
  lib=$FIX/v1/libdemo.so.1
  printf '%s\ndemo_message:demo_message_a\n' "$W/bad.so" >"$W/bad.dsc"
  refuse 2 "missing '@' line"
  printf '%s\n@%s\nno_such_function:demo_message_a\n' "$W/bad.so" "$lib" >"$W/bad.dsc"
  refuse 3 "unknown old function 'no_such_function'"
  printf '%s\n@%s\ndemo_message:no_such_new\n' "$W/bad.so" "$lib" >"$W/bad.dsc"
  refuse 3 "unknown new function 'no_such_new'"
  printf '%s\n@%s\n\ndemo_message:demo_message_a\ndemo_message:demo_message_a\n' "$W/bad.so" "$lib" >"$W/bad.dsc"
  refuse 5 "duplicate function"
  printf '%s\n@%s\ndemo_message\n' "$W/bad.so" "$lib" >"$W/bad.dsc"
  refuse 3 "expected old_function:new_function"
  printf '%s\n@%s\ndemo_message:demo_message_a\n' "$W/bad.so" "$W/missing.so.1" >"$W/bad.dsc"
  refuse 2 "no such file"
  echo "not elf" >"$W/text.so.1"
  printf '%s\n@%s\ndemo_message:demo_message_a\n' "$W/bad.so" "$W/text.so.1" >"$W/bad.dsc"
  refuse 2 "not an ELF file"
  printf '%s\n@%s\ndemo_message:demo_message_a\n' "$W/bad.so" "$FIX/plain/libdemo.so.1" >"$W/bad.dsc"
  refuse 3 "not livepatchable"
}

@test "packer: missing or non-ELF container is refused on line 1" {
  printf '%s\n@%s\ndemo_message:demo_message_a\n' "$W/none.so" "$FIX/v1/libdemo.so.1" >"$W/x.dsc"
  run "$ULP" packer "$W/x.dsc"
  assert_failure
  assert_output --partial "x.dsc:1: "
  assert_output --partial "no such file"
  echo "junk" >"$W/junk.so"
  cp "$W/junk.so" "$W/junk.before"
  printf '%s\n@%s\ndemo_message:demo_message_a\n' "$W/junk.so" "$FIX/v1/libdemo.so.1" >"$W/x.dsc"
  run "$ULP" packer "$W/x.dsc"
  assert_failure
  assert_output --partial "not an ELF file"
  cmp "$W/junk.so" "$W/junk.before"
}

@test "packer: missing description is an error" {
  run "$ULP" packer "$W/none.dsc"
  assert_failure 2
  assert_output --partial "no such file"
}
