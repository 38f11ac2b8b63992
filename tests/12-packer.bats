#!/usr/bin/env bats
# ulp packer FILE.dsc and ulp dump CONTAINER (docs/cli-contract.md)
load helpers

# section_count FILE NAME: how many sections called exactly NAME
section_count() {
  readelf -SW "$1" | awk -v n="$2" '{ for (i = 1; i <= NF; i++) if ($i == n) c++ } END { print c + 0 }'
}


@test "packer: success message, .ulp and .ulp.rev sections" {
  cp "$FIX/patch1.so" "$W/p1.so"
  make_dsc patch1 "$W/p1.so" "$LIB" >"$W/p1.dsc"
  run --separate-stderr "$ULP" packer "$W/p1.dsc"
  assert_success
  assert_output "packed $W/p1.so: 1 functions for libdemo.so.1 (build-ID $(build_id "$LIB/libdemo.so.1"))"
  assert_equal "$(section_count "$W/p1.so" .ulp)" 1
  assert_equal "$(section_count "$W/p1.so" .ulp.rev)" 1
  # the library was only read
  cmp "$LIB/libdemo.so.1" "$FIX/lib/libdemo.so.1"
}

@test "packer: the packed container is still a loadable shared object" {
  pack p1 patch1 "$LIB"
  run python3 -c '
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
f = lib.demo_message_p1
f.restype = ctypes.c_char_p
print(f().decode())' "$W/p1.so"
  assert_success
  assert_output "patched 1"
  run readelf -SW "$W/p1.so"
  refute_output --partial "Warning"
  refute_output --partial "Error"
}

@test "packer: two functions, blank lines ignored" {
  cp "$FIX/patch_multi.so" "$W/m.so"
  make_dsc patch_multi "$W/m.so" "$LIB" >"$W/m.dsc"
  grep -qx '' "$W/m.dsc" # the template really has a blank line
  run "$ULP" packer "$W/m.dsc"
  assert_success
  assert_output "packed $W/m.so: 2 functions for libdemo.so.1 (build-ID $(build_id "$LIB/libdemo.so.1"))"
}

@test "packer: re-packing replaces the sections" {
  pack p1 patch1 "$LIB"
  "$ULP" packer "$W/p1.dsc"
  "$ULP" packer "$W/p1.dsc"
  assert_equal "$(section_count "$W/p1.so" .ulp)" 1
  assert_equal "$(section_count "$W/p1.so" .ulp.rev)" 1
  # now for the other build of the library: the metadata follows
  make_dsc patch1 "$W/p1.so" "$LIBV2" >"$W/p1v2.dsc"
  run "$ULP" packer "$W/p1v2.dsc"
  assert_success
  assert_output --partial "(build-ID $(build_id "$LIBV2/libdemo.so.1"))"
  assert_equal "$(section_count "$W/p1.so" .ulp)" 1
  assert_equal "$(section_count "$W/p1.so" .ulp.rev)" 1
  run "$ULP" dump "$W/p1.so"
  assert_line "build-id:  $(build_id "$LIBV2/libdemo.so.1")"
  refute_line "build-id:  $(build_id "$LIB/libdemo.so.1")"
}

@test "packer: relative container path is relative to the .dsc's folder" {
  mkdir -p "$W/sub"
  cp "$FIX/patch1.so" "$W/sub/rel.so"
  printf 'rel.so\n@%s\ndemo_message:demo_message_p1\n' "$LIB/libdemo.so.1" >"$W/sub/rel.dsc"
  cd /
  run "$ULP" packer "$W/sub/rel.dsc"
  assert_success
  assert_output --regexp "^packed .*rel.so: 1 functions for libdemo.so.1 "
  assert_equal "$(section_count "$W/sub/rel.so" .ulp)" 1
  [ ! -e /rel.so ]
}

@test "packer: relative paths with nothing in the .dsc's folder are the working directory's, as libpulp takes them" {
  mkdir -p "$W/dsc" "$W/work"
  cp "$FIX/patch1.so" "$W/work/a_livepatch1.so"
  cp "$LIB/libdemo.so.1" "$W/work/"
  printf 'a_livepatch1.so
@./libdemo.so.1
demo_message:demo_message_p1
' >"$W/dsc/p.dsc"
  cd "$W/work"
  run "$ULP" packer "$W/dsc/p.dsc"
  assert_success
  assert_output --regexp "^packed a_livepatch1.so: 1 functions for libdemo.so.1 "
  assert_equal "$(section_count "$W/work/a_livepatch1.so" .ulp)" 1
}

@test "packer: a non-exported (static) function can be described" {
  # demo_scale is local: in .symtab, not in .dynsym
  readelf -sW "$LIB/libdemo.so.1" | awk '$8 == "demo_scale" && $5 == "LOCAL"' | grep -q .
  run readelf --dyn-syms -W "$LIB/libdemo.so.1"
  refute_output --partial demo_scale
  cp "$FIX/patch_scale.so" "$W/s.so"
  make_dsc patch_scale "$W/s.so" "$LIB" >"$W/s.dsc"
  run "$ULP" packer "$W/s.dsc"
  assert_success
  assert_output --partial ": 1 functions for libdemo.so.1"
}

# --- refusals: the line is named, the container is left untouched ---------

@test "packer refuses: missing '@' line" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\ndemo_message:demo_message_p1\n' "$W/p1.so" >"$W/p.dsc"
  refused "$W/p.dsc" 2 "missing '@' line" "$W/p1.so"
}

@test "packer refuses: unknown old function" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\n@%s\nno_such_function:demo_message_p1\n' "$W/p1.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 3 "unknown old function 'no_such_function' in " "$W/p1.so"
}

@test "packer refuses: unknown new function, on the right line after a blank one" {
  cp "$FIX/patch_multi.so" "$W/m.so"
  printf '%s\n@%s\ndemo_message:demo_message_multi\n\ndemo_value:no_such_new\n' \
    "$W/m.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 5 "unknown new function 'no_such_new' in " "$W/m.so"
}

@test "packer refuses: container file missing" {
  printf '%s\n@%s\ndemo_message:demo_message_p1\n' "$W/absent.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 1 "no such file"
  [ ! -e "$W/absent.so" ]
}

@test "packer refuses: target library missing" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\n@%s\ndemo_message:demo_message_p1\n' "$W/p1.so" "$W/nolib/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 2 "no such file" "$W/p1.so"
}

@test "packer refuses: container is not an ELF file" {
  printf 'not an elf\n' >"$W/text.so"
  printf '%s\n@%s\ndemo_message:demo_message_p1\n' "$W/text.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 1 "not an ELF file" "$W/text.so"
  head -c 4096 /dev/urandom >"$W/random.so"
  printf '%s\n@%s\ndemo_message:demo_message_p1\n' "$W/random.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 1 "not an ELF file" "$W/random.so"
}

@test "packer refuses: target library is not an ELF file" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf 'not an elf\n' >"$W/libdemo.so.1"
  printf '%s\n@%s\ndemo_message:demo_message_p1\n' "$W/p1.so" "$W/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 2 "not an ELF file" "$W/p1.so" "$W/libdemo.so.1"
}

@test "packer refuses: function without a patch area" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\n@%s\ndemo_message:demo_message_p1\ndemo_unpatchable:demo_message_p1\n' \
    "$W/p1.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  REASON_RE="function 'demo_unpatchable' (in [^ ]+ )?is not livepatchable" \
    refused "$W/p.dsc" 4 "" "$W/p1.so"
}

@test "packer refuses: library that is not livepatchable at all" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\n@%s\nplain_message:demo_message_p1\n' "$W/p1.so" "$LIBPLAIN/libplain.so.1" >"$W/p.dsc"
  cp "$W/p1.so" "$W/p1.so.before"
  run --separate-stderr "$ULP" packer "$W/p.dsc"
  assert_failure 1
  [[ $stderr =~ "ulp packer: $W/p.dsc:"[23]": ".*"not livepatchable" ]] || fail "stderr: $stderr"
  cmp "$W/p1.so.before" "$W/p1.so"
}

@test "packer refuses: a line that is not old:new" {
  cp "$FIX/patch1.so" "$W/p1.so"
  printf '%s\n@%s\ndemo_message\n' "$W/p1.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  REASON_RE="expected old(_function)?:new(_function)?" refused "$W/p.dsc" 3 "" "$W/p1.so"
}

@test "packer refuses: duplicate function" {
  cp "$FIX/patch_multi.so" "$W/m.so"
  printf '%s\n@%s\ndemo_message:demo_message_multi\ndemo_value:demo_value_multi\ndemo_message:demo_message_multi\n' \
    "$W/m.so" "$LIB/libdemo.so.1" >"$W/p.dsc"
  refused "$W/p.dsc" 5 "duplicate function" "$W/m.so"
}

@test "packer refuses: an already packed container keeps its old metadata" {
  pack p1 patch1 "$LIB"
  local before
  before=$("$ULP" dump "$W/p1.so")
  printf '%s\n@%s\nno_such_function:demo_message_p1\n' "$W/p1.so" "$LIB/libdemo.so.1" >"$W/bad.dsc"
  refused "$W/bad.dsc" 3 "unknown old function 'no_such_function' in " "$W/p1.so"
  run "$ULP" dump "$W/p1.so"
  assert_success
  assert_output "$before"
}

# --- refusals of what the tool's loader cannot load ------------------------

# loadable_dsc NAME NEW: copies $FIX/NAME.so to $W and writes $W/NAME.dsc,
# replacing demo_message of $LIB/libdemo.so.1 by NEW.
loadable_dsc() {
  cp "$FIX/$1.so" "$W/$1.so"
  printf '%s\n@%s\ndemo_message:%s\n' "$W/$1.so" "$LIB/libdemo.so.1" "$2" >"$W/$1.dsc"
}

@test "packer refuses: a container with a constructor" {
  loadable_dsc patch_ctor demo_message_ctor
  refused "$W/patch_ctor.dsc" 1 \
    "$W/patch_ctor.so: container needs initializers (constructor patch_ctor_init), which live patches never run" \
    "$W/patch_ctor.so"
}

@test "packer refuses: a container with a thread-local variable" {
  loadable_dsc patch_tls demo_message_tls
  refused "$W/patch_tls.dsc" 1 \
    "$W/patch_tls.so: container uses thread-local variables, which live patches cannot" \
    "$W/patch_tls.so"
}

@test "packer refuses: a container needing a library the target does not load" {
  readelf -dW "$FIX/patch_needs.so" | grep -q 'NEEDED.*\[libplain\.so\.1\]'
  loadable_dsc patch_needs demo_message_needs
  refused "$W/patch_needs.dsc" 1 \
    "$W/patch_needs.so: container needs libplain.so.1, which libdemo.so.1 does not load" \
    "$W/patch_needs.so"
}

@test "packer: a container calling libc (versioned, IFUNC) and the target library" {
  # the fixture imports what the loader must resolve at trigger time
  run readelf --dyn-syms -W "$FIX/patch_libc.so"
  assert_output --partial "memcpy@GLIBC_2.14"
  assert_output --partial "snprintf@GLIBC_2.2.5"
  assert_output --partial "demo_original_count"
  run readelf -dW "$FIX/patch_libc.so"
  assert_output --partial "[libc.so.6]"
  assert_output --partial "[libdemo.so.1]"
  loadable_dsc patch_libc demo_message_libc
  run --separate-stderr "$ULP" packer "$W/patch_libc.dsc"
  assert_success
  assert_output "packed $W/patch_libc.so: 1 functions for libdemo.so.1 (build-ID $(build_id "$LIB/libdemo.so.1"))"
  assert_equal "$(section_count "$W/patch_libc.so" .ulp)" 1
}

@test "loader: relocates patch_libc.so like ld.so and runs it (loader_test)" {
  [ -x "$FIX/loader_test" ] || fail "no $FIX/loader_test (make fixtures)"
  run env LD_LIBRARY_PATH="$LIB" "$FIX/loader_test" "$FIX/patch_libc.so" "$FIX/patch_unloadable.so"
  assert_success
  refute_line --partial "FAIL"
  assert_line "  demo_message_libc: patched libc 2"
  assert_line "  symbol no_such_symbol_anywhere not found in the process"
  assert_line --regexp '^loader self-test: [0-9]+ checks passed$'
}

@test "packer: unreadable .dsc -> exit 2" {
  run --separate-stderr "$ULP" packer "$W/none.dsc"
  assert_failure 2
  [[ $stderr == "ulp packer: "* ]] || fail "stderr: $stderr"
}

# --- dump ---------------------------------------------------------------------

@test "dump: every field of a packed container" {
  pack p1 patch1 "$LIB"
  run --separate-stderr "$ULP" dump "$W/p1.so"
  assert_success
  assert_line --index 0 "container: $W/p1.so"
  assert_line --index 1 --regexp '^patch id:  [0-9a-f]{32}$'
  assert_line --index 2 "target:    libdemo.so.1"
  assert_line --index 3 "build-id:  $(build_id "$LIB/libdemo.so.1")"
  assert_line --index 4 "functions: 1"
  local old new
  old=$(symbol_value "$LIB/libdemo.so.1" demo_message)
  new=$(symbol_value "$W/p1.so" demo_message_p1)
  assert_line --index 5 --regexp '^  demo_message -> demo_message_p1 \(old offset 0x[0-9a-f]+, new offset 0x[0-9a-f]+\)$'
  [[ ${lines[5]} =~ old\ offset\ (0x[0-9a-f]+),\ new\ offset\ (0x[0-9a-f]+) ]]
  assert_equal "$((BASH_REMATCH[1]))" "$old"
  assert_equal "$((BASH_REMATCH[2]))" "$new"
  assert_line --index 6 --regexp '^revert:    patch id [0-9a-f]{32}, target libdemo.so.1$'
}

@test "dump: two functions, static function offset from .symtab" {
  pack m patch_multi "$LIB"
  run "$ULP" dump "$W/m.so"
  assert_success
  assert_line "functions: 2"
  assert_line --regexp '^  demo_message -> demo_message_multi \(old offset 0x[0-9a-f]+, new offset 0x[0-9a-f]+\)$'
  assert_line --regexp '^  demo_value -> demo_value_multi \(old offset 0x[0-9a-f]+, new offset 0x[0-9a-f]+\)$'
  pack s patch_scale "$LIB"
  run "$ULP" dump "$W/s.so"
  assert_success
  [[ $output =~ demo_scale\ -\>\ demo_scale_fixed\ \(old\ offset\ (0x[0-9a-f]+) ]] || fail "$output"
  assert_equal "$((BASH_REMATCH[1]))" "$(symbol_value "$LIB/libdemo.so.1" demo_scale)"
}

@test "dump: distinct patches get distinct ids" {
  pack p1 patch1 "$LIB"
  pack p2 patch2 "$LIB"
  [ "$(patch_id "$W/p1.so")" != "$(patch_id "$W/p2.so")" ]
}

@test "dump: container without metadata -> error, no crash" {
  cp "$FIX/patch1.so" "$W/raw.so"
  run --separate-stderr "$ULP" dump "$W/raw.so"
  [ "$status" -eq 1 ] || [ "$status" -eq 2 ] || fail "exit $status"
  [[ $stderr == "ulp dump: "* ]] || fail "stderr: $stderr"
}

@test "dump: truncated, random, empty and missing containers -> error, no crash" {
  pack p1 patch1 "$LIB"
  local size
  size=$(stat -c %s "$W/p1.so")
  head -c $((size / 2)) "$W/p1.so" >"$W/half.so"
  head -c $((size - 16)) "$W/p1.so" >"$W/short.so"
  head -c 64 "$W/p1.so" >"$W/header.so"
  head -c 8192 /dev/urandom >"$W/random.so"
  : >"$W/empty.so"
  local f
  for f in half short header random empty missing; do
    run --separate-stderr "$ULP" dump "$W/$f.so"
    [ "$status" -eq 1 ] || [ "$status" -eq 2 ] || fail "dump $f.so: exit $status, stderr: $stderr"
    [[ $stderr == "ulp dump: "* ]] || fail "dump $f.so: stderr: $stderr"
  done
}
