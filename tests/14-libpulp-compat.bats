#!/usr/bin/env bats
# What SUSE's libpulp users bring: libraries whose entry NOPs its `ulp
# post` rewrote into the one 2-byte NOP 66 90, a patch area at the very
# end of .text, and fixes for functions of the main program.
load helpers

# post_like_libpulp LIB: rewrites the two entry NOPs of every patchable
# function of LIB (no endbr64) into 66 90, as libpulp's `ulp post` does.
post_like_libpulp() {
  python3 - "$1" <<'PY'
import struct, subprocess, sys
path = sys.argv[1]
sections = {}
for line in subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[0].startswith("[") and f[0][1:-1].isdigit():
        sections[f[1]] = (int(f[3], 16), int(f[4], 16), int(f[5], 16))
addr, off, size = sections["__patchable_function_entries"]
text_addr, text_off, _ = sections[".text"]
data = bytearray(open(path, "rb").read())
for (pad,) in struct.iter_unpack("<Q", data[off:off + size]):
    entry = pad + 14 - text_addr + text_off
    assert data[entry:entry + 2] == b"\x90\x90", hex(pad)
    data[entry:entry + 2] = b"\x66\x90"
open(path, "wb").write(data)
PY
}

# entry_bytes PID LIB FUNCTION: the two bytes at FUNCTION's entry in the
# process, as hex
entry_bytes() {
  local base value
  base=$(awk -v lib="$2" '$6 == lib { print $1; exit }' "/proc/$1/maps" | cut -d- -f1)
  value=$(readelf -sW "$2" | awk -v n="$3" '$8 == n { print $2; exit }')
  dd if="/proc/$1/mem" bs=1 skip=$((0x$base + 0x$value)) count=2 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

@test "entry NOPs 66 90 (libpulp's ulp post): livepatchable, packed, patched, and given back as 66 90" {
  local lib=$W/lib/libdemo.so.1
  mkdir -p "$W/lib"
  cp "$FIX/lib/libdemo.so.1" "$lib"
  post_like_libpulp "$lib"
  run "$ULP" livepatchable "$lib"
  assert_success
  assert_output --partial "livepatchable"
  make_patch a patch_a.so "$W/lib" demo_message:demo_message_a
  NORUNTIME=1 start_loop "$W/lib"
  [ "$(entry_bytes "$LAST" "$lib" demo_message)" = 6690 ] || fail "not 66 90 before"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  run "$ULP" trigger -p "$LAST" --revert "$W/a.so"
  assert_success
  wait_for_output out "original"
  [ "$(entry_bytes "$LAST" "$lib" demo_message)" = 6690 ] ||
    fail "entry is $(entry_bytes "$LAST" "$lib" demo_message) after the revert"
  assert_alive "$LAST"
}

@test "a patch area that ends .text counts and packs (the window is not read past the section)" {
  mkdir -p "$W/end"
  printf 'int first (int x) { return x * 3 + 1; }\nvoid last (void) {}\n' >"$W/end/e.c"
  gcc -O2 -fPIC -shared -fpatchable-function-entry=16,14 -fcf-protection=none \
    -fno-reorder-functions -Wl,-soname,libend.so.1 -Wl,--build-id=sha1 \
    -o "$W/end/libend.so.1" "$W/end/e.c"
  run "$ULP" livepatchable "$W/end/libend.so.1"
  assert_success
  assert_output --partial "(2 patchable functions)"
  printf 'void last_fixed (void) {}\n' >"$W/end/fix.c"
  gcc -O2 -fPIC -shared -o "$W/end/fix.so" "$W/end/fix.c"
  printf '%s\n@%s\nlast:last_fixed\n' "$W/end/fix.so" "$W/end/libend.so.1" >"$W/end/fix.dsc"
  run "$ULP" packer "$W/end/fix.dsc"
  assert_success
  assert_output --partial "1 functions for libend.so.1"
}

@test "functions of the main program, position-independent or not, are patched and reverted" {
  local kind
  mkdir -p "$W/exe"
  cat >"$W/exe/prog.c" <<'C'
#include <stdio.h>
#include <unistd.h>
__attribute__ ((noinline)) int compute (int x) { return x + 1; }
int main (int argc, char **argv) {
  (void) argc;
  for (;;) {
    FILE *f = fopen (argv[1], "w");
    if (f) { fprintf (f, "value %d\n", compute (1)); fclose (f); }
    usleep (10000);
  }
}
C
  printf 'int compute_fixed (int x) { return x + 100; }\n' >"$W/exe/fix.c"
  for kind in pie no-pie; do
    local flags=(-fPIE -pie)
    [ $kind = no-pie ] && flags=(-fno-PIE -no-pie)
    gcc -O2 -fpatchable-function-entry=16,14 -fcf-protection=none "${flags[@]}" \
      -Wl,--build-id=sha1 -o "$W/exe/prog-$kind" "$W/exe/prog.c"
    gcc -O2 -fPIC -shared -o "$W/exe/fix-$kind.so" "$W/exe/fix.c"
    printf '%s\n@%s\ncompute:compute_fixed\n' "$W/exe/fix-$kind.so" "$W/exe/prog-$kind" >"$W/exe/fix-$kind.dsc"
    run "$ULP" packer "$W/exe/fix-$kind.dsc"
    assert_success
    assert_output --partial "1 functions for prog-$kind"
    "$W/exe/prog-$kind" "$W/$kind.out" &
    PIDS+=($!)
    wait_for_output $kind "value 2"
    run "$ULP" trigger -p "${PIDS[-1]}" "$W/exe/fix-$kind.so"
    assert_success
    wait_for_output $kind "value 101"
    run "$ULP" trigger --revert -p "${PIDS[-1]}" "$W/exe/fix-$kind.so"
    assert_success
    wait_for_output $kind "value 2"
    assert_alive "${PIDS[-1]}"
  done
}

@test "ulp extract writes libpulp's JSON of a library; the packer takes it in place of the library" {
  need_fixtures patch_refs.so || fail "cannot build patch_refs.so"
  mkdir -p "$W/lib"
  cp "$FIX/lib/libdemo.so.1" "$W/lib/"
  run "$ULP" extract "$W/lib/libdemo.so.1" -o "$W/libdemo.so.1.json"
  assert_success
  run python3 -c 'import json, sys; l = json.load(open(sys.argv[1]))["library"]; print(l["name"], l["buildid"], len(l["symbols"]) > 10, {s["name"]: s["offset"] for s in l["symbols"]}["demo_scale"])' "$W/libdemo.so.1.json"
  assert_output "libdemo.so.1 $(build_id "$W/lib/libdemo.so.1") True $(symbol_value "$W/lib/libdemo.so.1" demo_scale)"
  cp "$FIX/patch_refs.so" "$W/r.so"
  make_dsc patch_refs "$W/r.so" "$W/lib" | sed "s|^@.*|@$W/libdemo.so.1.json|" >"$W/r.dsc"
  run "$ULP" packer "$W/r.dsc"
  assert_success
  assert_output --partial "1 functions, 3 references for libdemo.so.1 (build-ID $(build_id "$W/lib/libdemo.so.1"))"
  NORUNTIME=1 start_loop "$W/lib"
  run "$ULP" trigger -p "$LAST" "$W/r.so"
  assert_success
  wait_for_output out "original 101"
  # What JSON cannot tell is refused with the reason.
  printf '{"library": {"name": "libdemo.so.1"}}\n' >"$W/bad.json"
  sed -i "s|^@.*|@$W/bad.json|" "$W/r.dsc"
  refused "$W/r.dsc" 3 "$W/bad.json: not a library description of \`ulp extract\`" "$W/r.so"
  cp "$FIX/patch_needs.so" "$W/needs.so"
  printf '%s\n@%s\nplain_value:plain_value_fixed\n' "$W/needs.so" "$W/libdemo.so.1.json" >"$W/needs.dsc"
  refused "$W/needs.dsc" 1 "container needs libplain.so.1, and the target is known only by its symbols (JSON)" "$W/needs.so"
}

@test "a container named through a symbolic link is packed where the link leads; the link stays" {
  mkdir -p "$W/real"
  cp "$FIX/patch_a.so" "$W/real/a.so"
  ln -s real/a.so "$W/a.so"
  { echo "$W/a.so"; echo "@$FIX/v1/libdemo.so.1"; echo "demo_message:demo_message_a"; } >"$W/a.dsc"
  run "$ULP" packer "$W/a.dsc"
  assert_success
  [ -L "$W/a.so" ] || fail "the link was replaced"
  run "$ULP" dump "$W/real/a.so"
  assert_success
  assert_line --regexp "^target: *libdemo\.so\.1$"
  [ -z "$(find "$W" "$W/real" -maxdepth 1 -name '*.ulp??????')" ] || fail "a temporary file was left"
}
