#!/usr/bin/env bats
# Signed live patches: nothing unsigned or tampered is injected.
load helpers
load pki

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  export ULP_TRUST_DIR=$W/trust.d ULP_CONFIG=$W/ulp.conf
  pki_setup
  patch_a
}

sign() { # CONTAINER [CERT]
  "$ULP" sign --key "$P/${2:-rsa}.key" --cert "$P/${2:-rsa}.pem" "$1"
}

# refused CONTAINER MESSAGE: the trigger refuses before touching the target.
refused() {
  run "$ULP" trigger -p "$LAST" "$1"
  assert_failure 2
  assert_output --partial "$2"
  sleep 0.05
  wait_for_output out "original v1"
  run "$ULP" patches -p "$LAST" --json
  assert_output --partial '"patches":[]'
}

@test "sign and verify: signer subject and key fingerprint" {
  run sign "$W/a.so"
  assert_success
  mkdir "$W/other"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/other/x.key" -out "$W/other/x.pem" \
    -subj "/CN=Unrelated" -days 10 2>/dev/null
  run "$ULP" verify --trust "$W/other" "$W/a.so"
  assert_failure 1
  assert_output --partial "untrusted signer"
  trust_ca
  run "$ULP" verify "$W/a.so"
  assert_success
  assert_output --partial "good signature"
  assert_output --partial "signer: CN=Vendor RSA"
  fp=$(openssl x509 -in "$P/rsa.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
  assert_output --partial "key sha256: $fp"
  run "$ULP" dump "$W/a.so"
  assert_output --regexp "signature: [0-9]+ bytes over the first [0-9]+"
}

@test "ECDSA and Ed25519 signing keys" {
  trust_ca
  issue ec "Vendor EC" codesign "" "" ec
  issue ed "Vendor Ed25519" codesign "" "" ed25519
  for k in ec ed; do
    cp "$W/a.so" "$W/$k.so"
    run sign "$W/$k.so" "$k"
    assert_success
    run "$ULP" verify "$W/$k.so"
    assert_success
    assert_output --partial "signer: CN=Vendor"
  done
}

@test "enforced: a signed container applies, an unsigned one is refused" {
  trust_ca
  start_loop "$FIX/v1"
  patch_b
  refused "$W/b.so" "not signed, and signatures are required"
  sign "$W/a.so"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "one flipped byte anywhere: code, metadata, signature" {
  trust_ca
  sign "$W/a.so"
  start_loop "$FIX/v1"
  size=$(stat -c %s "$W/a.so")
  meta=$(section_offset "$W/a.so" .ulp)
  text=$(section_offset "$W/a.so" .text)
  for at in 0 $text $((text + 3)) $meta $((meta + 20)) $((size - 200)) $((size - 30)) $((size - 1)); do
    cp "$W/a.so" "$W/bad.so"
    python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^1]))" "$W/bad.so" "$at"
    run "$ULP" verify "$W/bad.so"
    [ "$status" -ne 0 ]
    run "$ULP" trigger -p "$LAST" "$W/bad.so"
    [ "$status" -ne 0 ]
  done
  wait_for_output out "original v1"
}

@test "untrusted signer, expired and not-yet-valid certificates, no code-signing usage" {
  trust_ca
  start_loop "$FIX/v1"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/self.key" -out "$P/self.pem" \
    -subj "/CN=Stranger" -days 10 -addext extendedKeyUsage=codeSigning 2>/dev/null
  issue old "Expired" codesign 20200101000000Z 20210101000000Z
  issue future "Future" codesign 20990101000000Z 20991231000000Z
  issue mail "Mail only" mailonly
  for who in self old future mail; do
    cp "$W/a.so" "$W/$who.so"
    sign "$W/$who.so" "$who"
  done
  refused "$W/self.so" "untrusted signer: self-signed certificate"
  refused "$W/old.so" "expired"
  refused "$W/future.so" "not yet valid"
  refused "$W/mail.so" "does not allow code signing"
}

@test "a stripped signature is an unsigned container" {
  trust_ca
  cp "$W/a.so" "$W/unsigned-copy.so"
  sign "$W/a.so"
  start_loop "$FIX/v1"
  head -c "$(stat -c %s "$W/unsigned-copy.so")" "$W/a.so" >"$W/stripped.so"
  cmp "$W/stripped.so" "$W/unsigned-copy.so"
  refused "$W/stripped.so" "not signed"
  head -c -5 "$W/a.so" >"$W/cut.so"
  refused "$W/cut.so" "not signed"
}

@test "signing twice replaces the signature; re-packing drops it" {
  trust_ca
  unsigned=$(stat -c %s "$W/a.so")
  sign "$W/a.so"
  once=$(stat -c %s "$W/a.so")
  sign "$W/a.so"
  [ "$(stat -c %s "$W/a.so")" -eq "$once" ]
  run "$ULP" verify "$W/a.so"
  assert_success
  "$ULP" packer "$W/a.dsc"
  run "$ULP" verify "$W/a.so"
  assert_failure 1
  assert_output --partial "not signed"
  [ "$(stat -c %s "$W/a.so")" -ge "$unsigned" ]
}

@test "trust store problems: missing, not a directory, writable by others, malformed PEM" {
  sign "$W/a.so"
  start_loop "$FIX/v1"
  echo "require_signature = yes" >"$ULP_CONFIG"
  refused "$W/a.so" "no such directory"
  echo "not a directory" >"$ULP_TRUST_DIR"
  refused "$W/a.so" "not a directory"
  rm "$ULP_TRUST_DIR"
  trust_ca
  chmod o+w "$ULP_TRUST_DIR"
  refused "$W/a.so" "writable by users other than root"
  chmod o-w "$ULP_TRUST_DIR"
  chmod g+w "$ULP_TRUST_DIR/ca.pem"
  refused "$W/a.so" "writable by users other than root"
  chmod g-w "$ULP_TRUST_DIR/ca.pem"
  echo "-----BEGIN CERTIFICATE-----garbage" >"$ULP_TRUST_DIR/bad.pem"
  refused "$W/a.so" "no PEM certificate"
  rm "$ULP_TRUST_DIR/bad.pem"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
}

@test "policy: require_signature = no lets unsigned in, never a bad signature" {
  trust_ca
  echo "require_signature = no" >"$ULP_CONFIG"
  start_loop "$FIX/v1"
  patch_b
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/self.key" -out "$P/self.pem" \
    -subj "/CN=Stranger" -days 10 2>/dev/null
  sign "$W/a.so" self
  refused "$W/a.so" "untrusted signer"
  run "$ULP" trigger -p "$LAST" "$W/b.so"
  assert_success
  echo "require_signature = maybe" >"$ULP_CONFIG"
  run "$ULP" trigger -p "$LAST" --revert "$W/b.so"
  assert_success
  run "$ULP" trigger -p "$LAST" "$W/b.so"
  assert_failure 2
  assert_output --partial "require_signature must be yes or no"
}

@test "without a trust store, unsigned containers apply (no enforcement)" {
  start_loop "$FIX/v1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
}

@test "empty and malformed files are refused by sign and verify" {
  trust_ca
  : >"$W/empty.so"
  run "$ULP" verify "$W/empty.so"
  assert_failure 2
  assert_output --partial "empty file"
  run "$ULP" sign --key "$P/rsa.key" --cert "$P/rsa.pem" "$W/empty.so"
  assert_failure 2
  echo "junk" >"$P/junk.pem"
  run "$ULP" sign --key "$P/junk.pem" --cert "$P/rsa.pem" "$W/a.so"
  assert_failure 1
  assert_output --partial "not a PEM private key"
  run "$ULP" sign --key "$P/ca.key" --cert "$P/rsa.pem" "$W/a.so"
  assert_failure 1
  assert_output --partial "does not belong"
}

@test "the file swapped mid-trigger never gets other code into the process" {
  trust_ca
  sign "$W/a.so"
  patch_b
  cp "$W/a.so" "$W/good.so"
  start stress "$FIX/v1" 2 "original v1" "patch A" >"$W/stress.out" 2>&1
  stress=$LAST
  # Swap the good signed container and an unsigned one as fast as possible.
  (while :; do cp "$W/b.so" "$W/swap.tmp"; mv "$W/swap.tmp" "$W/a.so";
     cp "$W/good.so" "$W/swap.tmp"; mv "$W/swap.tmp" "$W/a.so"; done) &
  swapper=$!
  PIDS+=("$swapper")
  applied=0
  for i in $(seq 60); do
    if "$ULP" trigger -q -p "$stress" "$W/a.so" 2>/dev/null; then
      applied=$((applied + 1))
      "$ULP" trigger -q -p "$stress" --revert "$W/good.so"
    fi
  done
  kill "$swapper"
  kill -0 "$stress"
  [ "$applied" -gt 0 ]
  run cat "$W/stress.out"
  refute_output --partial "unexpected"
}

@test "an unreadable trust store is refused with the reason" {
  trust_ca
  sign "$W/a.so"
  shared=$(mktemp -d /tmp/ulp-unreadable.XXXXXX)
  chmod 755 "$shared"
  cp "$W/a.so" "$shared/a.so"
  chmod 644 "$shared/a.so"
  chmod 700 "$ULP_TRUST_DIR"
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$ULP" verify --trust "$ULP_TRUST_DIR" "$shared/a.so"
  rm -rf "$shared"
  assert_failure 1
  assert_output --partial "trust store $ULP_TRUST_DIR"
  assert_output --partial "Permission denied"
}

# as_nobody CMD...: runs CMD as the unprivileged user nobody, who can reach
# the test's folder (this run's own temporary directory is opened to it).
as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

share_tmpdir() {
  chmod 711 "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test"
  chmod 755 "$W"
}

# flip FILE OFFSET: inverts the lowest bit of one byte.
flip() {
  python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^1]))" "$1" "$2"
}

@test "a policy file another user could change is refused: ulp.conf, its folder, the trust store's folder" {
  trust_ca
  sign "$W/a.so"
  patch_b
  share_tmpdir
  start_loop "$FIX/v1"
  echo "require_signature = yes" >"$ULP_CONFIG"
  chmod 666 "$ULP_CONFIG"
  as_nobody sh -c "echo 'require_signature = no' >'$ULP_CONFIG'"
  refused "$W/b.so" "$ULP_CONFIG is writable by users other than root: refusing to trust it"
  refused "$W/a.so" "$ULP_CONFIG is writable by users other than root"
  echo "require_signature = yes" >"$ULP_CONFIG"
  chmod 644 "$ULP_CONFIG"
  chown nobody "$ULP_CONFIG"
  refused "$W/b.so" "$ULP_CONFIG is owned by uid 65534, not by root"
  chown root "$ULP_CONFIG"
  rm "$ULP_CONFIG"
  # A folder above that others can write: they could move trust.d away.
  chmod 777 "$W"
  refused "$W/b.so" "$W is writable by users other than root"
  as_nobody mv "$ULP_TRUST_DIR" "$W/elsewhere"
  refused "$W/b.so" "$W is writable by users other than root"
  mv "$W/elsewhere" "$ULP_TRUST_DIR"
  # Sticky, as /tmp: others cannot move what root put there.
  chmod 1777 "$W"
  run as_nobody mv "$ULP_TRUST_DIR" "$W/elsewhere"
  assert_failure
  refused "$W/b.so" "not signed, and signatures are required"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  # The trust store itself may not be writable by others, sticky or not.
  chmod 1777 "$ULP_TRUST_DIR"
  run "$ULP" verify "$W/a.so"
  assert_failure 1
  assert_output --partial "$ULP_TRUST_DIR is writable by users other than root"
}

@test "the signature is checked before any parser reads the container" {
  trust_ca
  sign "$W/a.so"
  start_loop "$FIX/v1"
  cp "$W/a.so" "$W/bad.so"
  flip "$W/bad.so" "$(section_offset "$W/a.so" .ulp)"
  run "$ULP" verify "$W/bad.so"
  assert_failure 1
  assert_output --partial "bad signature"
  refute_output --partial "metadata"
  refused "$W/bad.so" "bad signature"
  head -c 5000 /dev/urandom >"$W/random.so"
  run "$ULP" verify "$W/random.so"
  assert_failure 1
  assert_output --partial "random.so: not signed"
  refused "$W/random.so" "not signed, and signatures are required"
  # A damaged signature block is a bad signature too, whatever the policy.
  cp "$W/a.so" "$W/version.so"
  flip "$W/version.so" $(($(stat -c %s "$W/a.so") - 20))
  run "$ULP" verify "$W/version.so"
  assert_failure 1
  assert_output --partial "bad signature: signature block version"
  echo "require_signature = no" >"$ULP_CONFIG"
  refused "$W/version.so" "bad signature: signature block version"
}

@test "key usage: a certificate for key encipherment only does not sign code" {
  trust_ca
  issue enc "Key encipherment" keyenc
  issue enconly "Key encipherment only" keyenc_only
  start_loop "$FIX/v1"
  for who in enc enconly; do
    cp "$W/a.so" "$W/$who.so"
    sign "$W/$who.so" "$who"
    run "$ULP" verify "$W/$who.so"
    assert_failure 1
    assert_output --partial "does not allow digital signatures (key usage)"
    refused "$W/$who.so" "does not allow digital signatures"
  done
}

@test "the vendor certificate alone in the trust store is trusted, not its CA's other certificates" {
  mkdir -m 755 "$ULP_TRUST_DIR"
  cp "$P/rsa.pem" "$ULP_TRUST_DIR/vendor.pem"
  issue ec "Other vendor" codesign "" "" ec
  cp "$W/a.so" "$W/other.so"
  sign "$W/a.so"
  sign "$W/other.so" ec
  run "$ULP" verify "$W/a.so"
  assert_success
  assert_output --partial "signer: CN=Vendor RSA"
  start_loop "$FIX/v1"
  refused "$W/other.so" "untrusted signer: unable to get local issuer certificate"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "a FIFO, a device or a folder is refused at once: container, policy, certificate" {
  trust_ca
  sign "$W/a.so"
  start_loop "$FIX/v1"
  mkfifo "$W/fifo.so"
  for cmd in "verify" "trigger -p $LAST" "sign --key $P/rsa.key --cert $P/rsa.pem" "dump" "check -p $LAST"; do
    for file in "$W/fifo.so" /dev/zero "$W"; do
      run timeout 5 "$ULP" $cmd "$file"
      [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
      assert_output --partial "not a regular file"
    done
  done
  mkfifo "$ULP_CONFIG"
  run timeout 5 "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_failure 2
  assert_output --partial "$ULP_CONFIG: not a regular file"
  rm "$ULP_CONFIG"
  mkfifo -m 644 "$ULP_TRUST_DIR/fifo.pem"
  run timeout 5 "$ULP" verify "$W/a.so"
  assert_failure 1
  assert_output --partial "$ULP_TRUST_DIR/fifo.pem: not a regular file"
  wait_for_output out "original v1"
}

@test "a user patches their own process, under the host's signature policy" {
  trust_ca
  sign "$W/a.so"
  patch_b
  chmod 644 "$W/a.so" "$W/b.so"
  share_tmpdir
  mkdir -m 700 "$W/home" "$W/xdg"
  chown nobody "$W/home" "$W/xdg"
  # The build may sit where nobody cannot reach (/root): the user gets its
  # own copies of the tool, the runtime and the program.
  mkdir -m 755 "$W/bin"
  cp "$ULP" "$RUNTIME" "$FIX/demo_loop" "$W/bin/"
  cp -r "$FIX/v1" "$W/bin/v1"
  chmod -R a+rX "$W/bin"
  local ULP=$W/bin/ulp
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env LD_PRELOAD="$W/bin/libpulp.so.0" LD_LIBRARY_PATH="$W/bin/v1" "$W/bin/demo_loop" "$W/home/out.out" &
  LAST=$!
  PIDS+=("$LAST")
  wait_for_output home/out "original v1"
  run as_nobody env XDG_RUNTIME_DIR="$W/xdg" "$ULP" trigger -p "$LAST" "$W/b.so"
  assert_failure 2
  assert_output --partial "not signed, and signatures are required"
  run as_nobody env XDG_RUNTIME_DIR="$W/xdg" "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  assert_output --partial "SUCCESS"
  wait_for_output home/out "patch A"
  # nothing was written for the target: it maps the verified bytes
  [ ! -e "$W/xdg/ulp" ] || fail "files under $W/xdg/ulp"
  grep -q '/memfd:ulp:a.so' "/proc/$LAST/maps" || fail "no container mapping"
  run as_nobody env XDG_RUNTIME_DIR="$W/xdg" "$ULP" trigger -p "$LAST" --revert "$W/a.so"
  assert_success
  wait_for_output home/out "original v1"
  # A policy others can write is refused; the user's own may decide for
  # the user's own processes, as root's decides for every process.
  echo "require_signature = no" >"$ULP_CONFIG"
  chmod 666 "$ULP_CONFIG"
  run as_nobody env XDG_RUNTIME_DIR="$W/xdg" "$ULP" trigger -p "$LAST" "$W/b.so"
  assert_failure 2
  assert_output --partial "$ULP_CONFIG is writable by users other than its owner"
  as_nobody sh -c "echo 'require_signature = no' >'$W/home/ulp.conf'"
  run as_nobody env XDG_RUNTIME_DIR="$W/xdg" ULP_CONFIG="$W/home/ulp.conf" "$ULP" trigger -p "$LAST" "$W/b.so"
  assert_success
  wait_for_output home/out "patch B"
}
