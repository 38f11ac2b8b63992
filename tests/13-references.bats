#!/usr/bin/env bats
# References ('#' lines of a description, libpulp's syntax): a fix reaches
# the target library's private function, variable and thread-local
# variable.  tests/targets/patch_refs.c counts demo_value's calls through
# the library's own static counters and returns demo_scale (x) * 10 + 1
# when both counters agree (demo_loop prints "original 101"), + 0 when the
# addresses written were wrong; the original prints "original 11".
load helpers

# private_lib: $LIB, a private copy of the library the fix was made for.
private_lib() {
  need_fixtures patch_refs.so || fail "cannot build patch_refs.so"
  LIB=$W/lib
  mkdir -p "$LIB"
  cp "$FIX/lib/libdemo.so.1" "$LIB/"
}

# symbol_hex FILE NAME: the value of NAME in FILE's .symtab, in hex
symbol_hex() {
  readelf -sW "$1" | awk -v n="$2" '$8 == n { print $2; exit }' | sed 's/^0*//; s/^$/0/'
}

# refs_dsc LINES...: $W/r.dsc, patch_refs with these reference lines
refs_dsc() {
  cp "$FIX/patch_refs.so" "$W/r.so"
  {
    printf '%s\n@%s\ndemo_value:demo_value_counted\n' "$W/r.so" "$LIB/libdemo.so.1"
    printf '%s\n' "$@"
  } >"$W/r.dsc"
}

@test "references reach the library's static function, static variable and thread-local variable" {
  private_lib
  pack r patch_refs "$LIB"
  run "$ULP" dump "$W/r.so"
  assert_line "references: 3"
  assert_line "  demo_scale -> scale_ref (target offset 0x$(symbol_hex "$LIB/libdemo.so.1" demo_scale), patch offset 0x$(symbol_hex "$W/r.so" scale_ref))"
  assert_line --partial "  %demo_value_thread_calls -> thread_calls_ref (target offset 0x0,"
  NORUNTIME=1 start_loop "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/r.so"
  assert_success
  wait_for_output out "original 101"
  run "$ULP" trigger -p "$LAST" --revert "$W/r.so"
  assert_success
  wait_for_output out "original 11"
  # The counters went on in the original code: applied again, they agree.
  run "$ULP" trigger -p "$LAST" "$W/r.so"
  assert_success
  wait_for_output out "original 101"
  assert_alive "$LAST"
}

@test "the offset form (#local:ref:LOCAL_OFFSET:REF_OFFSET) packs the same references" {
  private_lib
  local lib=$LIB/libdemo.so.1
  cp "$FIX/patch_refs.so" "$W/r.so"
  refs_dsc "#demo_scale:scale_ref:$(symbol_hex "$lib" demo_scale):$(symbol_hex "$W/r.so" scale_ref)" \
    "#demo_value_calls:calls_ref:0x$(symbol_hex "$lib" demo_value_calls):$(symbol_hex "$W/r.so" calls_ref)" \
    "#%demo_value_thread_calls:thread_calls_ref:0:$(symbol_hex "$W/r.so" thread_calls_ref)"
  run "$ULP" packer "$W/r.dsc"
  assert_success
  assert_output --partial "1 functions, 3 references for libdemo.so.1"
  NORUNTIME=1 start_loop "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/r.so"
  assert_success
  wait_for_output out "original 101"
}

@test "packer refuses references to names that are missing, of the wrong kind, or not hexadecimal offsets" {
  private_lib
  refs_dsc "#demo_scale:scale_ref" "#no_such_thing:calls_ref"
  refused "$W/r.dsc" 5 "no symbol 'no_such_thing' in $LIB/libdemo.so.1" "$W/r.so"
  refs_dsc "#demo_value_calls:no_such_ref"
  refused "$W/r.dsc" 4 "no variable 'no_such_ref' in $W/r.so" "$W/r.so"
  refs_dsc "#demo_value_thread_calls:thread_calls_ref"
  refused "$W/r.dsc" 4 "is a thread-local variable: write #%demo_value_thread_calls:thread_calls_ref" "$W/r.so"
  refs_dsc "#%demo_value_calls:thread_calls_ref"
  refused "$W/r.dsc" 4 "'demo_value_calls' in $LIB/libdemo.so.1 is not a thread-local variable" "$W/r.so"
  refs_dsc "#demo_value_calls:thread_calls_ref"
  refused "$W/r.dsc" 4 "'thread_calls_ref' in $W/r.so must be a variable of 8 bytes (a pointer)" "$W/r.so"
  refs_dsc "#demo_value_calls:calls_ref:zz:10"
  refused "$W/r.dsc" 4 "the offsets of a reference are hexadecimal numbers, got 'zz' and '10'" "$W/r.so"
  refs_dsc "#demo_value_calls:calls_ref:ffffff:10"
  refused "$W/r.dsc" 4 "offset 0xffffff of 'demo_value_calls' is outside $LIB/libdemo.so.1" "$W/r.so"
  refs_dsc "#demo_value_calls"
  refused "$W/r.dsc" 4 "expected #local:ref or #local:ref:LOCAL_OFFSET:REF_OFFSET" "$W/r.so"
  refs_dsc "#demo_scale:calls_ref" "#demo_value_calls:calls_ref"
  refused "$W/r.dsc" 5 "'calls_ref' already receives a reference (line 4)" "$W/r.so"
}

@test "packer refuses a name that several source files define as static, and says to give the offset" {
  private_lib
  printf 'static int twice = 1;\nint *first_twice (void) { return &twice; }\n' >"$W/a.c"
  printf 'static int twice = 2;\nint *second_twice (void) { return &twice; }\n' >"$W/b.c"
  gcc -O2 -fPIC -shared -fpatchable-function-entry=16,14 -Wl,-soname,libdemo.so.1 \
    -Wl,--build-id=sha1 -o "$LIB/libdemo.so.1" "$FIXSRC/libdemo_ext.c" "$W/a.c" "$W/b.c"
  refs_dsc "#twice:calls_ref"
  refused "$W/r.dsc" 4 "'twice' names symbols at several addresses in $LIB/libdemo.so.1" "$W/r.so"
}

@test "a stripped library: its symbols come from its debug file (.gnu_debuglink, same build-ID)" {
  private_lib
  local lib=$LIB/libdemo.so.1
  objcopy --only-keep-debug "$lib" "$LIB/libdemo.so.1.debug"
  objcopy --strip-all --add-gnu-debuglink="$LIB/libdemo.so.1.debug" "$lib"
  readelf -SW "$lib" | grep -q '\.symtab' && fail "still has .symtab"
  pack r patch_refs "$LIB"
  NORUNTIME=1 start_loop "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/r.so"
  assert_success
  wait_for_output out "original 101"
  # Without it, or with the debug file of another build, the packer says why.
  mv "$LIB/libdemo.so.1.debug" "$W/elsewhere.debug"
  refs_dsc "#demo_value_calls:calls_ref"
  refused "$W/r.dsc" 4 "no symbol 'demo_value_calls' in $lib (it is stripped, and no debug file of its build-ID was found)" "$W/r.so"
  gcc -O2 -fPIC -shared -DDEMO_VARIANT=2 -o "$LIB/libdemo.so.1.debug" "$FIXSRC/libdemo_ext.c"
  refused "$W/r.dsc" 4 "(it is stripped, and no debug file of its build-ID was found)" "$W/r.so"
}

@test "a description without function lines (references only, or nothing, as libpulp packs them) is recorded, applied and reverted, and changes no code" {
  private_lib
  refs_dsc "#demo_value_calls:calls_ref"
  sed -i '/^demo_value:/d' "$W/r.dsc"
  run "$ULP" packer "$W/r.dsc"
  assert_success
  assert_output --partial "0 functions, 1 references for libdemo.so.1"
  cp "$FIX/patch_refs.so" "$W/empty.so"
  printf '%s\n@%s\n' "$W/empty.so" "$LIB/libdemo.so.1" >"$W/empty.dsc"
  run "$ULP" packer "$W/empty.dsc"
  assert_success
  assert_output --partial "0 functions for libdemo.so.1"
  NORUNTIME=1 start_loop "$LIB"
  run "$ULP" trigger -p "$LAST" "$W/r.so" "$W/empty.so"
  assert_success
  assert_line --partial "SUCCESS $W/r.so"
  assert_line --partial "SUCCESS $W/empty.so"
  run "$ULP" check -p "$LAST" "$W/empty.so"
  assert_success
  sleep 0.05
  wait_for_output out "original 11"
  run "$ULP" trigger -p "$LAST" --revert "$W/r.so" "$W/empty.so"
  assert_success
  run "$ULP" check -p "$LAST" "$W/r.so"
  assert_failure 1
  assert_alive "$LAST"
}
