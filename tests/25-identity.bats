#!/usr/bin/env bats
# Which mapped objects a container is for: matched by build-ID and soname
# (DT_SONAME), never by file name alone; the file behind a mapping is
# identified by device and inode; every mapping of a matching build is
# patched.
load helpers

@test "a library installed under its real name (libdemo.so.1.0.0 + soname link) is matched by its soname" {
  local U1
  U1=$(unique_lib)
  mkdir "$W/sov"
  cp "$U1/libdemo.so.1" "$W/sov/libdemo.so.1.0.0"
  ln -s libdemo.so.1.0.0 "$W/sov/libdemo.so.1"
  pack p1 patch1 "$U1"
  start_demo a "$W/sov"
  grep -q "$W/sov/libdemo.so.1.0.0" "/proc/$LAST/maps"
  # without -p: every process is searched, this one is found
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "demo_target (pid $LAST): SUCCESS $W/p1.so"
  wait_for_file_content "$W/a.out" "patched 1 11"
  run "$ULP" trigger --revert -p "$LAST" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/a.out" "original 11"
}

@test "packed against the real file or the soname link, a container names the library's soname and patches it" {
  local U1 via
  U1=$(unique_lib)
  mkdir "$W/sov"
  cp "$U1/libdemo.so.1" "$W/sov/libdemo.so.1.0.0"
  ln -s libdemo.so.1.0.0 "$W/sov/libdemo.so.1"
  start_demo a "$W/sov"
  for via in libdemo.so.1 libdemo.so.1.0.0; do
    pack "p-$via" patch1 "$W/sov"
    sed -i "s|^@.*|@$W/sov/$via|" "$W/p-$via.dsc"
    "$ULP" packer "$W/p-$via.dsc" >/dev/null
    run "$ULP" dump "$W/p-$via.so"
    assert_success
    assert_line --regexp "^target: *libdemo\.so\.1$"
    run "$ULP" trigger -p "$LAST" "$W/p-$via.so"
    assert_success
    assert_line "demo_target (pid $LAST): SUCCESS $W/p-$via.so"
    wait_for_file_content "$W/a.out" "patched 1 11"
    run "$ULP" trigger --revert -p "$LAST" "$W/p-$via.so"
    assert_success
    wait_for_file_content "$W/a.out" "original 11"
  done
}

@test "a library mapped twice (a copy of the same build dlopened from another path): both copies are patched" {
  local U1
  U1=$(unique_lib)
  mkdir "$W/copy"
  cp "$U1/libdemo.so.1" "$W/copy/libdemo.so.1"
  pack p1 patch1 "$U1"
  start_target twin_target "$U1" "$W/a.out" "$W/copy/libdemo.so.1"
  wait_for_file_content "$W/a.out" "original 11 | original 11"
  [ "$(grep -c 'libdemo.so.1$' "/proc/$LAST/maps" | head -1)" -gt 1 ]
  run "$ULP" trigger -p "$LAST" "$W/p1.so"
  assert_success
  assert_line "twin_target (pid $LAST): SUCCESS $W/p1.so"
  wait_for_file_content "$W/a.out" "patched 1 11 | patched 1 11"
  run "$ULP" patches -p "$LAST"
  assert_success
  run "$ULP" trigger --revert -p "$LAST" "$W/p1.so"
  assert_success
  wait_for_file_content "$W/a.out" "original 11 | original 11"
}

@test "without map_files (not root), a path that now leads to another build is not taken for the mapped one" {
  local U1 U2
  U1=$(unique_lib)
  U2=$(unique_lib v2)
  # the user's own copies: the build may sit where nobody cannot reach
  mkdir -m 755 "$W/bin" "$W/lib" "$W/other"
  cp "$ULP" "$RUNTIME" "$FIX/demo_target" "$W/bin/"
  cp "$U1/libdemo.so.1" "$W/lib/"
  cp "$U2/libdemo.so.1" "$W/other/"
  pack pv patch_variant "$U2"
  chmod -R a+rX "$W/bin" "$W/lib" "$W/other" "$W/pv.so"
  chmod 711 "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test"
  chmod 755 "$W"
  mkdir -m 700 "$W/home"
  chown nobody "$W/home"
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env LD_PRELOAD="$W/bin/libpulp.so.0" LD_LIBRARY_PATH="$W/lib" "$W/bin/demo_target" "$W/home/a.out" &
  LAST=$!
  PIDS+=("$LAST")
  wait_for_file_content "$W/home/a.out" "original 11"
  # A bind mount now shows the other build at the path the process mapped
  # its library from (the mapping itself still holds the first build).
  mount --bind "$W/other/libdemo.so.1" "$W/lib/libdemo.so.1"
  run setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env XDG_RUNTIME_DIR="$W/home" "$W/bin/ulp" trigger -p "$LAST" "$W/pv.so"
  umount "$W/lib/libdemo.so.1"
  refute_output --partial "SUCCESS"
  assert_output --partial "$W/lib/libdemo.so.1: the file at this path is not the one the process maps"
  stays_content "$W/home/a.out" "original 11"
}

@test "a trigger that matches no running process says so" {
  local U1
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  run --separate-stderr "$ULP" trigger "$W/p1.so"
  assert_success
  assert_output "summary: 0 succeeded, 0 skipped, 0 failed"
  [ "$stderr" = "ulp trigger: no running process maps a build these containers cover" ] ||
    fail "stderr: $stderr"
}

@test "a trigger whose processes all run the patch already says so, not that none runs the build" {
  local U1
  U1=$(unique_lib)
  pack p1 patch1 "$U1"
  NORUNTIME=1 start_demo out "$U1"
  run "$ULP" trigger "$W/p1.so"
  assert_success
  assert_line "summary: 1 succeeded, 0 skipped, 0 failed"
  run --separate-stderr "$ULP" trigger "$W/p1.so"
  assert_success
  assert_output --partial "(pid $LAST): SKIPPED $W/p1.so: already applied"
  assert_line "summary: 0 succeeded, 1 skipped, 0 failed"
  [ -z "$stderr" ] || fail "stderr: $stderr"
}
