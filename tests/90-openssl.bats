#!/usr/bin/env bats
# Real fixes in a real library: Debian 12's OpenSSL, built livepatchable and
# vulnerable again to CVE-2024-5535 and CVE-2023-0286 (real-targets/openssl,
# cached outside the tree: the first run on a machine builds both releases,
# about 4 minutes each here), packaged as libopenssl3 in two releases, and
# the livepatch packages written for it with spec-templates/, delivered by
# zypper into running TLS servers and clients that handshake all along.
load rpm

setup_file() {
  export OSSL=$BATS_FILE_TMPDIR/openssl
  "$ROOT/tests/rpm/build-openssl.sh" "$OSSL" "$BUILD" "$FIX/rpm" \
    >"$BATS_FILE_TMPDIR/build.out" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/build.out" >&3; return 1; }
  local here=$ROOT/real-targets/openssl
  gcc -O2 -o "$OSSL/bin/npn_probe" "$here/npn_probe.c" -lssl -lcrypto
  gcc -O2 -fPIC -shared -o "$OSSL/fix-cve-2024-5535.so" \
    "$here/openssl-livepatches/livepatch.c"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -days 2 -keyout "$OSSL/key.pem" -out "$OSSL/cert.pem" \
    2>/dev/null
}

zyp() {
  zypper --root "$R" --non-interactive --no-gpg-checks "$@"
}

# tls_pair NAME LIBDIR: a TLS server of LIBDIR's OpenSSL and a client of it
# handshaking in a loop; $SERVER and $CLIENT.
tls_pair() {
  local name=$1 libdir=$2
  LD_LIBRARY_PATH=$libdir "$OSSL/bin/tls_server" "$OSSL/cert.pem" "$OSSL/key.pem" \
    "$W/$name.port" "$W/$name.probe" 2>"$W/$name.server-err" &
  SERVER=$!
  PIDS+=("$SERVER")
  for _ in $(seq 300); do [ -s "$W/$name.port" ] && break; sleep 0.01; done
  LD_LIBRARY_PATH=$libdir "$OSSL/bin/tls_client" "$W/$name.port" "$W/$name.count" \
    2>"$W/$name.client-err" &
  CLIENT=$!
  PIDS+=("$CLIENT")
  wait_for_file "$name.count" "^ok [1-9]"
}

# wait_for_file FILE PATTERN: until $W/FILE matches PATTERN (grep -E).
wait_for_file() {
  for _ in $(seq 500); do
    grep -Eq "$2" "$W/$1" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "$W/$1 never matched '$2'; it has: $(cat "$W/$1" 2>/dev/null)" >&2
  return 1
}

# probes_show NAME NPN X400 HOST: the server's own probes, twice in a row
# (a probe round started before the change may still be reported once).
probes_show() {
  local want have
  want=$(printf 'npn: %s\nx400: %s\nhost: %s' "$2" "$3" "$4")
  for round in 1 2; do
    for _ in $(seq 500); do
      have=$(cat "$W/$1.probe" 2>/dev/null)
      [ "$have" = "$want" ] && break
      sleep 0.01
    done
    [ "$have" = "$want" ] || fail "the probes of $1 show '$have', not '$want'"
    [ $round = 2 ] || sleep 0.25
  done
}

# handshakes_all_good NAME: the client stops, counts more than 100
# handshakes and not one failure; neither side logged one.
handshakes_all_good() {
  kill -TERM "$2"
  for _ in $(seq 300); do kill -0 "$2" 2>/dev/null || break; sleep 0.01; done
  run cat "$W/$1.count"
  assert_output --regexp '^ok [0-9]{3,} failed 0$'
  run cat "$W/$1.server-err" "$W/$1.client-err"
  assert_output ""
}

@test "CVE-2024-5535 in a running program on a livepatchable OpenSSL: faults before, fixed by the live patch, back after the revert" {
  local lib=$OSSL/author/openssl-livepatches-1/libs/3.0.20-1.x86_64
  run "$ULP" livepatchable "$lib/libssl.so.3"
  assert_success
  cp "$OSSL/fix-cve-2024-5535.so" "$W/fix.so"
  printf '%s\n@%s\nSSL_select_next_proto:SSL_select_next_proto_fixed\n' \
    "$W/fix.so" "$lib/libssl.so.3" >"$W/fix.dsc"
  run "$ULP" packer "$W/fix.dsc"
  assert_success
  assert_output --partial "1 functions for libssl.so.3"
  "$ULP" sign --key "$FIX/rpm/pki/rsa.key" --cert "$FIX/rpm/pki/rsa.pem" "$W/fix.so"
  LD_LIBRARY_PATH=$lib "$OSSL/bin/npn_probe" "$W/probe.out" &
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

@test "openssl-livepatches through zypper: in fixes CVE-2024-5535, up adds CVE-2023-0286 and X509_check_host (a private function reached by reference), rm reverts all, in running TLS servers and clients of two OpenSSL releases, not one handshake lost" {
  make_root "$R"
  zyp addrepo "file://$OSSL/repo" openssl >/dev/null
  run zyp install --no-recommends test-base ulp libopenssl3-3.0.20-1
  assert_success
  tls_pair old "$R/usr/lib64"
  local old_server=$SERVER old_client=$CLIENT
  # The library is upgraded under them: they keep running release 1.
  run zyp install --no-recommends libopenssl3-3.0.20-2
  assert_success
  tls_pair new "$R/usr/lib64"
  local new_server=$SERVER new_client=$CLIENT
  probes_show old "signal 11" equal checked
  probes_show new "signal 11" equal checked

  run zyp install openssl-livepatches-1
  assert_success
  local lp=$R/usr/lib64/ulp/openssl-livepatches/1
  assert_output --partial "tls_server (pid $old_server, libopenssl3-3.0.20-1.x86_64): SUCCESS $lp/libssl_3.0.20-1_livepatch1.so"
  assert_output --partial "tls_client (pid $old_client, libopenssl3-3.0.20-1.x86_64): SUCCESS $lp/libssl_3.0.20-1_livepatch1.so"
  assert_output --partial "tls_server (pid $new_server, libopenssl3-3.0.20-2.x86_64): SUCCESS $lp/libssl_3.0.20-2_livepatch1.so"
  # zypper itself runs the machine's own libssl: skipped, with the reason.
  assert_output --regexp "zypper \(pid [0-9]+\): SKIPPED libssl.so.3: no container for the library build it runs"
  assert_output --regexp "openssl-livepatches-1-1.x86_64: patched 4, skipped [0-9]+, failed 0"
  probes_show old "exit 20" equal checked
  probes_show new "exit 20" equal checked

  run zyp update
  assert_success
  assert_output --regexp "openssl-livepatches-libcrypto-2-1.x86_64: patched 4, skipped [0-9]+, failed 0"
  assert_output --regexp "openssl-livepatches-2-1.x86_64: patched 4, skipped [0-9]+, failed 0"
  probes_show old "exit 20" differ refused
  probes_show new "exit 20" differ refused
  run "$ULP" patches -p "$old_server"
  assert_output --partial "libssl_3.0.20-1_livepatch2"
  assert_output --partial "libcrypto_3.0.20-1_livepatch2"
  refute_output --partial "livepatch1"
  # X509_check_host's fix reaches the library's static do_x509_check (in
  # .symtab only) through a reference the packer resolved for each build.
  local release lib at
  for release in 1 2; do
    lib=$OSSL/author/openssl-livepatches-libcrypto-2/libs/3.0.20-$release.x86_64/libcrypto.so.3
    at=$(symbol_value "$lib" do_x509_check)
    if readelf --dyn-syms -W "$lib" | grep -qw do_x509_check; then
      fail "do_x509_check is exported"
    fi
    run "$ULP" dump "$R/usr/lib64/ulp/openssl-livepatches-libcrypto/2/libcrypto_3.0.20-${release}_livepatch2.so"
    assert_output --partial "do_x509_check -> do_x509_check_ref (target offset $(printf '0x%x' "$at"),"
  done

  run zyp remove openssl-livepatches
  assert_success
  assert_output --partial "openssl-livepatches-2-1.x86_64: reverted 4"
  assert_output --partial "openssl-livepatches-libcrypto-2-1.x86_64: reverted 4"
  probes_show old "signal 11" equal checked
  probes_show new "signal 11" equal checked

  for pid in "$old_server" "$old_client" "$new_server" "$new_client"; do
    assert_alive "$pid"
  done
  handshakes_all_good old "$old_client"
  handshakes_all_good new "$new_client"
}
