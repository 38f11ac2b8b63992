#!/usr/bin/env bats
# make install lays out the tool, the runtime and the man pages.
load helpers

@test "make install DESTDIR=D PREFIX=/usr" {
  make -s -C "$ROOT" install DESTDIR="$W/root" PREFIX=/usr >/dev/null
  [ -x "$W/root/usr/bin/ulp" ]
  [ -f "$W/root/usr/lib64/libpulp.so.0" ]
  [ "$(readlink "$W/root/usr/lib64/libpulp.so")" = libpulp.so.0 ]
  [ -f "$W/root/usr/share/man/man1/ulp.1" ]
  [ -f "$W/root/usr/share/man/man7/libpulp.7" ]
  [ -x "$W/root/usr/bin/ulp-catalog" ]
  [ -f "$W/root/usr/share/man/man1/ulp-catalog.1" ]
  # where rpm looks for plugins, macros and the scriptlet helper
  [ -f "$W/root$(rpm --eval '%{__plugindir}')/ulp.so" ]
  [ -f "$W/root$(rpm --eval '%{_rpmmacrodir}')/macros.ulp" ]
  [ -x "$W/root$(rpm --eval '%{_libexecdir}')/ulp/ulp_post_hook" ]
  run nm -D --defined-only "$W/root$(rpm --eval '%{__plugindir}')/ulp.so"
  assert_output --regexp " D ulp_hooks$"
  [ "${#lines[@]}" -eq 1 ]
  run "$W/root/usr/bin/ulp" --version
  assert_success
  assert_output --regexp "^ulp [0-9]+\.[0-9]+\.[0-9]+$"
  run readelf -d "$W/root/usr/lib64/libpulp.so.0"
  assert_output --partial "Library soname: [libpulp.so.0]"
}

@test "make install honours LIBDIR" {
  make -s -C "$ROOT" install DESTDIR="$W/root" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu >/dev/null
  [ -f "$W/root/usr/lib/x86_64-linux-gnu/libpulp.so.0" ]
}

@test "the installed runtime and tool patch a process" {
  make -s -C "$ROOT" install DESTDIR="$W/root" PREFIX=/usr >/dev/null
  patch_a
  LD_PRELOAD=$W/root/usr/lib64/libpulp.so.0 LD_LIBRARY_PATH=$FIX/v1 "$FIX/demo_loop" "$W/out.out" &
  PIDS+=($!)
  wait_for_output out "original v1"
  run "$W/root/usr/bin/ulp" trigger -p "$!" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "man pages render without warnings" {
  command -v groff >/dev/null || skip "groff is not installed"
  run groff -man -Tutf8 -ww -z "$ROOT/libpulp/man/ulp.1"
  assert_output ""
  run groff -man -Tutf8 -ww -z "$ROOT/libpulp/man/libpulp.7"
  assert_output ""
  run groff -man -Tutf8 -ww -z "$ROOT/catalog/ulp-catalog.1"
  assert_output ""
}
