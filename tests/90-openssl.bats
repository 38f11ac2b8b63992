#!/usr/bin/env bats
# A real fix in a real library: Debian 12's OpenSSL, built livepatchable and
# vulnerable again to CVE-2024-5535 (real-targets/openssl/build.sh, cached
# outside the tree: the first run builds it, about 4 minutes here), and a
# running program whose probes read past an empty protocol list until the
# live patch is applied, and again once it is reverted.
load helpers

setup_file() {
  local here=$BATS_TEST_DIRNAME/../real-targets/openssl
  export OSSL=$BATS_FILE_TMPDIR/openssl
  "$here/build.sh" 1 "$OSSL/lib" >"$BATS_FILE_TMPDIR/build.out" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/build.out" >&3; return 1; }
  gcc -O2 -o "$OSSL/npn_probe" "$here/npn_probe.c" -lssl -lcrypto
  gcc -O2 -fPIC -shared -o "$OSSL/fix-cve-2024-5535.so" "$here/fix-cve-2024-5535.c"
}

@test "CVE-2024-5535 in a running program on a livepatchable OpenSSL: faults before, fixed by the live patch, back after the revert" {
  run "$ULP" livepatchable "$OSSL/lib/libssl.so.3"
  assert_success
  cp "$OSSL/fix-cve-2024-5535.so" "$W/fix.so"
  printf '%s\n@%s\nSSL_select_next_proto:SSL_select_next_proto_fixed\n' \
    "$W/fix.so" "$OSSL/lib/libssl.so.3" >"$W/fix.dsc"
  run "$ULP" packer "$W/fix.dsc"
  assert_success
  assert_output --partial "1 functions for libssl.so.3"
  LD_LIBRARY_PATH=$OSSL/lib "$OSSL/npn_probe" "$W/probe.out" &
  PIDS+=($!)
  wait_for_output probe "probe: signal 11"
  run "$ULP" trigger -p "${PIDS[0]}" "$W/fix.so"
  assert_success
  : >"$W/probe.out"
  wait_for_output probe "probe: exit 20"
  run "$ULP" trigger -p "${PIDS[0]}" --revert "$W/fix.so"
  assert_success
  : >"$W/probe.out"
  wait_for_output probe "probe: signal 11"
  assert_alive "${PIDS[0]}"
}
