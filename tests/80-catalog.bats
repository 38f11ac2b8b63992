#!/usr/bin/env bats
# The build-ID catalog: ulp-catalog download reads a real createrepo_c
# repository (file:// and http://) with libsolv, checks and unpacks real
# RPMs, and the authoring Makefile builds containers for every version.
load rpm
bats_require_minimum_version 1.5.0

CAT=$BUILD/ulp-catalog
RPMS=$PKG/catalog-rpms

# repo_copy DIR: a repository of the five libdemo builds, to spoil at will.
repo_copy() {
  mkdir -p "$1"
  cp "$RPMS"/*.rpm "$1/"
  createrepo_c -q "$1" >/dev/null
}

# serve DIR: an HTTP server for DIR on a free port ($URL); its log in
# $W/http.log lists every request.
serve() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory "$1" "$port" 2>"$W/http.log" >/dev/null &
  PIDS+=($!)
  URL=http://127.0.0.1:$port
  for _ in $(seq 100); do
    curl -sf "$URL/repodata/repomd.xml" >/dev/null && return 0
    sleep 0.05
  done
  fail "the HTTP server did not start"
}

download() {
  "$CAT" download --package libdemo --library libdemo.so.1 --dest "$W/libs" \
    --catalog "$W/libdemo.catalog" "$@"
}

# The build-ID readelf finds in FILE.
readelf_build_id() {
  readelf -n "$1" | awk '/Build ID/ {print $3}'
}

@test "download over file://: all five versions cataloged with the build-IDs readelf finds in the packages" {
  repo_copy "$W/repo"
  run download --repo "file://$W/repo"
  assert_success
  assert_line "$W/libdemo.catalog: 5 versions: 5 new, 0 up to date, 0 failed"
  [ "$(grep -vc '^#' "$W/libdemo.catalog")" -eq 5 ]
  for rel in 1 2 3 4 5; do
    # unpacked independently of the tool, with rpm's own rpm2archive
    rpm2archive - <"$RPMS/libdemo-1.0-$rel.x86_64.rpm" | tar -xzO ./usr/lib64/libdemo.so.1 >"$W/ref.so"
    id=$(readelf_build_id "$W/ref.so")
    sum=$(sha256sum "$RPMS/libdemo-1.0-$rel.x86_64.rpm" | cut -d' ' -f1)
    grep -qx "libdemo.so.1 $id libdemo 0:1.0-$rel x86_64 sha256:$sum /usr/lib64/libdemo.so.1" "$W/libdemo.catalog" ||
      fail "no entry for 1.0-$rel with $id: $(cat "$W/libdemo.catalog")"
    cmp "$W/ref.so" "$W/libs/1.0-$rel.x86_64/libdemo.so.1"
  done
  # sorted by version, one per line
  run awk '!/^#/ {print $4}' "$W/libdemo.catalog"
  assert_output "$(printf '0:1.0-%s\n' 1 2 3 4 5)"
}

@test "catalog/libdemo.catalog, kept in git, is what download finds in the demo repository and what the demo package ships" {
  run download --repo "file://$PKG/root/good/libdemo-repo"
  assert_success
  cmp "$ROOT/catalog/libdemo.catalog" "$W/libdemo.catalog" ||
    fail "catalog/libdemo.catalog is stale: $(diff "$ROOT/catalog/libdemo.catalog" "$W/libdemo.catalog")"
  rpm2archive - <"$PKG/root/good/demo-livepatches-2-1.x86_64.rpm" |
    tar -xzO ./usr/share/ulp/catalog/demo-livepatches.catalog >"$W/shipped.catalog"
  cmp "$ROOT/catalog/libdemo.catalog" "$W/shipped.catalog"
}

@test "download over http://: the second run fetches no package and leaves the catalog as it was" {
  repo_copy "$W/repo"
  serve "$W/repo"
  run download --repo "$URL"
  assert_success
  assert_line --partial "5 new, 0 up to date, 0 failed"
  [ "$(grep -c 'GET /libdemo-.*\.rpm' "$W/http.log")" -eq 5 ]
  cp "$W/libdemo.catalog" "$W/first.catalog"
  : >"$W/http.log"
  run download --repo "$URL"
  assert_success
  assert_line --partial "0 new, 5 up to date, 0 failed"
  run grep -c 'GET /libdemo-.*\.rpm' "$W/http.log"
  assert_output 0
  cmp "$W/first.catalog" "$W/libdemo.catalog"
}

@test "list and lookup name the package behind a build-ID; ulp patches does too" {
  repo_copy "$W/repo"
  download --repo "file://$W/repo" >/dev/null
  id=$(readelf_build_id "$W/libs/1.0-3.x86_64/libdemo.so.1")
  run "$CAT" lookup "$id" "$W/libdemo.catalog"
  assert_success
  assert_output "libdemo.so.1 $id libdemo-1.0-3.x86_64 /usr/lib64/libdemo.so.1"
  run "$CAT" lookup 0123abcd "$W/libdemo.catalog"
  assert_failure
  assert_output --partial "0123abcd: not in the catalog"
  run "$CAT" list "$W/libdemo.catalog"
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  mkdir -p "$ULP_CATALOG_DIR"
  cp "$W/libdemo.catalog" "$ULP_CATALOG_DIR/"
  monitor three "$W/libs/1.0-3.x86_64"
  run "$ULP" patches -p "$LAST"
  assert_output --partial "libdemo.so.1 (build-ID $id, libdemo-1.0-3.x86_64)"
  run "$ULP" patches --json -p "$LAST"
  assert_output --partial "\"build_id\":\"$id\",\"package\":\"libdemo-1.0-3.x86_64\""
}

@test "a corrupted package: a clear error, the other versions are cataloged, nothing half-written" {
  repo_copy "$W/repo"
  # damage the compressed payload; the metadata is made to agree with it
  f=$W/repo/libdemo-1.0-4.x86_64.rpm
  size=$(stat -c %s "$f")
  printf 'garbage-garbage-garbage' | dd of="$f" bs=1 seek=$((size - 400)) conv=notrunc status=none
  rm -r "$W/repo/repodata"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-4.x86_64: libdemo-1.0-4.x86_64.rpm: corrupt package"
  assert_line --partial "4 new, 0 up to date, 1 failed"
  [ "$(grep -vc '^#' "$W/libdemo.catalog")" -eq 4 ]
  refute [ -e "$W/libs/1.0-4.x86_64" ]
  run "$CAT" list "$W/libdemo.catalog"
  assert_success
  # no temporary file left behind
  run find "$W" -name '*.ulp??????'
  assert_output ""
}

@test "a checksum mismatch with the metadata: refused, the catalog keeps what it had" {
  repo_copy "$W/repo"
  download --repo "file://$W/repo" >/dev/null
  cp "$W/libdemo.catalog" "$W/before.catalog"
  rm -r "$W/libs/1.0-2.x86_64"
  # the metadata still describes the old file
  cp "$RPMS/libdemo-1.0-3.x86_64.rpm" "$W/repo/libdemo-1.0-2.x86_64.rpm"
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-2.x86_64: libdemo-1.0-2.x86_64.rpm: checksum mismatch (the metadata says sha256:"
  cmp "$W/before.catalog" "$W/libdemo.catalog"
  refute [ -e "$W/libs/1.0-2.x86_64" ]
}

# spoil_version DIR REL VER: the metadata of DIR gives libdemo 1.0-REL the
# version VER, with repomd.xml's checksums made to match (as a hostile
# mirror would).
spoil_version() {
  python3 - "$@" <<'PY'
import gzip, hashlib, re, sys, pathlib
repo, rel, ver = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
repomd = (repo / "repodata/repomd.xml").read_text()
href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S).group(1)
old_gz = (repo / href).read_bytes()
xml = gzip.decompress(old_gz).decode()
xml = xml.replace(f'ver="1.0" rel="{rel}"', f'ver="{ver}" rel="{rel}"')
new_gz = gzip.compress(xml.encode())
old_sum, new_sum = hashlib.sha256(old_gz).hexdigest(), hashlib.sha256(new_gz).hexdigest()
(repo / href.replace(old_sum, new_sum)).write_bytes(new_gz)
repomd = repomd.replace(old_sum, new_sum)
(repo / "repodata/repomd.xml").write_text(repomd)
PY
}

@test "a version in the metadata that is no file name: refused before anything is written" {
  repo_copy "$W/repo"
  spoil_version "$W/repo" 3 "../../../escape"
  mkdir -p "$W/deep/er"
  run "$CAT" download --package libdemo --library libdemo.so.1 --dest "$W/deep/er/libs" \
    --catalog "$W/libdemo.catalog" --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-../../../escape-3.x86_64: catalog entry for libdemo 0:../../../escape-3: bad version"
  assert_output --partial "4 new, 0 up to date, 1 failed"
  refute [ -e "$W/escape-3.x86_64" ]
  refute [ -e "$W/deep/escape-3.x86_64" ]
  [ "$(grep -vc '^#' "$W/libdemo.catalog")" -eq 4 ]
}

# bad_line LINE ERROR: a catalog holding LINE is refused with ERROR.
bad_line() {
  echo "$1" >"$W/one.catalog"
  run "$CAT" list "$W/one.catalog"
  assert_failure
  assert_output --partial "one.catalog:1: $2"
}

@test "an unreachable repository, missing metadata, a malformed catalog: clear errors, the catalog untouched" {
  repo_copy "$W/repo"
  download --repo "file://$W/repo" >/dev/null
  cp "$W/libdemo.catalog" "$W/before.catalog"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run download --repo "http://127.0.0.1:$port/repo"
  assert_failure
  assert_output --partial "http://127.0.0.1:$port/repo/repodata/repomd.xml: "
  cmp "$W/before.catalog" "$W/libdemo.catalog"
  run download --repo "file://$W/nowhere"
  assert_failure
  assert_output --partial "$W/nowhere/repodata/repomd.xml"
  run download --repo "file://$W/repo" --arch aarch64
  assert_failure
  assert_output --partial "file://$W/repo: no package libdemo for aarch64"
  cmp "$W/before.catalog" "$W/libdemo.catalog"
  echo "libdemo.so.1 nothex libdemo 0:1-1 x86_64 sha256:00 /x" >>"$W/libdemo.catalog"
  cp "$W/libdemo.catalog" "$W/bad.catalog"
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "$W/libdemo.catalog:7: bad build-ID"
  cmp "$W/bad.catalog" "$W/libdemo.catalog"
  sum=sha256:$(printf '0%.0s' $(seq 64))
  id=$(printf 'ab%.0s' $(seq 64))
  long=$(printf 'l%.0s' $(seq 200))
  bad_line "libdemo.so.1 ab libdemo 0:1-1 x86_64 $sum" "expected 7 fields, path missing"
  bad_line "libdemo.so.1 ${id}ab libdemo 0:1-1 x86_64 $sum /x" "build-ID longer than 128 characters"
  bad_line "$long ab libdemo 0:1-1 x86_64 $sum /x" "soname longer than 127 characters"
  bad_line "libdemo.so.1 ab libdemo 0:1-1 x86_64 $sum /x extra" "expected 7 fields, more found"
  bad_line "libdemo.so.1 ab libdemo 0:1-1 x86_64 $sum /$(printf 'p%.0s' $(seq 3000))" "line longer than 2046 characters"
  run "$CAT" download --repo "file://$W/repo"
  assert_failure 2
  assert_output --partial "usage"
}

# gpg_key NAME: an OpenPGP signing key in $W/NAME.gnupg, public part NAME.asc
gpg_key() {
  mkdir -m 700 "$W/$1.gnupg"
  GNUPGHOME=$W/$1.gnupg gpg --batch --passphrase '' --quick-gen-key "$1 <$1@example.org>" rsa2048 sign never 2>/dev/null
  GNUPGHOME=$W/$1.gnupg gpg --armor --export "$1@example.org" >"$W/$1.asc"
}

# sign KEY RPM...: rpmsign with gpg_key KEY.
sign() {
  local key=$1
  shift
  GNUPGHOME=$W/$key.gnupg rpmsign --define "__gpg $(command -v gpg)" \
    --define "_gpg_name $key@example.org" --addsign "$@" </dev/null >/dev/null 2>&1
}

# splice HEADER_RPM PAYLOAD_RPM OUT: the lead, signature and header of the
# first package with the payload of the second, as a hostile mirror could
# serve them (the signature covers the header only).
splice() {
  python3 - "$@" <<'PY'
import struct, sys
def split(path):
    data = open(path, "rb").read()
    off = 96                                   # the lead
    for pad in (True, False):                  # signature header, then header
        count, size = struct.unpack(">II", data[off + 8:off + 16])
        off += 16 + 16 * count + size
        if pad:
            off += -off % 8
    return data[:off], data[off:]
head, _ = split(sys.argv[1])
_, payload = split(sys.argv[2])
open(sys.argv[3], "wb").write(head + payload)
PY
}

@test "--key: packages signed with that OpenPGP key pass; unsigned or signed by another key, refused" {
  gpg_key vendor
  gpg_key stranger
  mkdir -p "$W/repo"
  cp "$RPMS"/libdemo-1.0-{1,2,3,4}.x86_64.rpm "$W/repo/"
  sign vendor "$W/repo"/libdemo-1.0-{1,2}.x86_64.rpm
  sign stranger "$W/repo"/libdemo-1.0-4.x86_64.rpm
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo" --key "$W/vendor.asc"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-3.x86_64: libdemo-1.0-3.x86_64.rpm: not signed"
  assert_output --partial "ulp-catalog: libdemo-1.0-4.x86_64: libdemo-1.0-4.x86_64.rpm: signed with a key other than the one given"
  assert_line --partial "2 new, 0 up to date, 2 failed"
  [ -f "$W/libs/1.0-1.x86_64/libdemo.so.1" ] && [ -f "$W/libs/1.0-2.x86_64/libdemo.so.1" ]
}

@test "--key: a signed header with another package's payload is refused (its payload digest)" {
  gpg_key vendor
  mkdir -p "$W/repo"
  cp "$RPMS"/libdemo-1.0-{1,2}.x86_64.rpm "$W/"
  sign vendor "$W"/libdemo-1.0-{1,2}.x86_64.rpm
  cp "$W/libdemo-1.0-1.x86_64.rpm" "$W/repo/"
  splice "$W/libdemo-1.0-2.x86_64.rpm" "$RPMS/libdemo-1.0-3.x86_64.rpm" "$W/repo/libdemo-1.0-2.x86_64.rpm"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo" --key "$W/vendor.asc"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-2.x86_64: libdemo-1.0-2.x86_64.rpm: corrupt package: the payload does not match the payload digest in its header"
  assert_line --partial "1 new, 0 up to date, 1 failed"
  refute [ -e "$W/libs/1.0-2.x86_64" ]
  run grep -c "0:1.0-2" "$W/libdemo.catalog"
  assert_output 0
}

# author DIR N: an authoring directory from spec-templates for livepatch N.
author() {
  mkdir -p "$1"
  cp "$ROOT"/spec-templates/{Makefile,config.mk,livepatches.spec.in} "$1/"
  cp "$ROOT/tests/rpm/livepatch$2.c" "$1/livepatch.c"
  cp "$ROOT/tests/rpm/livepatch$2.map" "$1/livepatch.map"
}

@test "make download and make: one container per version, each applies to the processes running that version" {
  repo_copy "$W/repo"
  author "$W/a" 1
  tools=(ULP="$ULP" ULP_CATALOG="$CAT")
  run make -s -C "$W/a" download "${tools[@]}" REPO="file://$W/repo"
  assert_success
  run make -s -C "$W/a" "${tools[@]}" SIGN_KEY="$PKG/pki/rsa.key" SIGN_CERT="$PKG/pki/rsa.pem"
  assert_success
  for rel in 1 2 3 4 5; do
    [ -f "$W/a/out/libdemo_1.0-${rel}_livepatch1.so" ]
    monitor "v$rel" "$W/a/libs/1.0-$rel.x86_64"
    eval "pid$rel=\$LAST"
  done
  run "$ULP" trigger "$W/a/out/*.so"
  assert_success
  for rel in 1 2 3 4 5; do
    pid=pid$rel
    assert_line "monitor (pid ${!pid}): SUCCESS $W/a/out/libdemo_1.0-${rel}_livepatch1.so"
    log_is "v$rel" "original v$rel" "livepatch 1"
  done
}

@test "make dist: the same bytes twice, whatever the files' times; it holds sources, catalog and libraries" {
  repo_copy "$W/repo"
  author "$W/a" 1
  tools=(ULP="$ULP" ULP_CATALOG="$CAT")
  make -s -C "$W/a" download "${tools[@]}" REPO="file://$W/repo" >/dev/null
  run make -s -C "$W/a" dist "${tools[@]}"
  assert_success
  mv "$W/a/demo-livepatches-1.tar.xz" "$W/first.tar.xz"
  touch -d '2001-01-01' "$W/a"/livepatch.c "$W/a"/libs/*/libdemo.so.1
  chmod 600 "$W/a/config.mk"
  make -s -C "$W/a" dist "${tools[@]}" >/dev/null
  cmp "$W/first.tar.xz" "$W/a/demo-livepatches-1.tar.xz"
  run tar -tvJf "$W/first.tar.xz"
  assert_success
  assert_line --regexp '^-rw-r--r-- root/root .* 1970-01-01 00:00 demo-livepatches-1/libdemo.catalog$'
  assert_line --partial "demo-livepatches-1/libs/1.0-5.x86_64/libdemo.so.1"
  assert_line --partial "demo-livepatches-1/livepatch.map"
  [ "$(tar -tJf "$W/first.tar.xz" | sort)" = "$(tar -tJf "$W/first.tar.xz")" ]
}

# mangle MODE IN OUT [ARG]: a spoilt copy of package IN, as a bad mirror or
# a bad disk could serve it; the repository metadata is made afterwards, so
# its checksum agrees.  MODE: library (the first byte of the library's
# build-ID changed inside the payload, which is compressed again), bit (bit
# ARG of the compressed payload flipped), zero (512 bytes of the compressed
# payload zeroed at fraction ARG of it), nodigest (the payload digests
# taken out of the header, which is then what rpm before 4.14 made: the
# header's own digests are made to agree).
mangle() {
  python3 - "$@" <<'PY'
import gzip, hashlib, struct, sys
mode, src, dst = sys.argv[1:4]
arg = sys.argv[4] if len(sys.argv) > 4 else None
data = bytearray(open(src, "rb").read())
def header_at(off):
    count, size = struct.unpack(">II", data[off + 8:off + 16])
    return off, 16 + 16 * count + size, count
sig, sig_len, sig_count = header_at(96)
hdr = sig + sig_len + (-(sig + sig_len) % 8)
hdr, hdr_len, hdr_count = header_at(hdr)
payload = hdr + hdr_len
if mode == "library":
    cpio = bytearray(gzip.decompress(bytes(data[payload:])))
    note = cpio.find(b"GNU\0", cpio.find(b"\x7fELF"))
    cpio[note + 4] ^= 0xFF
    data[payload:] = gzip.compress(bytes(cpio))
elif mode == "bit":
    n = int(arg)
    data[payload + n // 8 % (len(data) - payload)] ^= 1 << (n % 8)
elif mode == "zero":
    at = payload + int((len(data) - payload) * float(arg))
    data[at:at + 512] = bytes(len(data[at:at + 512]))
elif mode == "nodigest":
    for i in range(hdr_count):
        e = hdr + 16 + 16 * i
        tag = struct.unpack(">I", data[e:e + 4])[0]
        if tag in (5092, 5093, 5097):  # PAYLOADDIGEST, -ALGO, -ALT: renamed
            data[e:e + 4] = struct.pack(">I", tag + 800)
    blob = bytes(data[hdr:hdr + hdr_len])
    store = sig + 16 + 16 * sig_count
    for i in range(sig_count):
        e = sig + 16 + 16 * i
        tag, _, off, _ = struct.unpack(">IIiI", data[e:e + 16])
        algo = {269: hashlib.sha1, 273: hashlib.sha256}.get(tag)
        if algo:
            hexsum = algo(blob).hexdigest().encode()
            data[store + off:store + off + len(hexsum)] = hexsum
open(dst, "wb").write(bytes(data))
PY
}

@test "a library byte changed inside the gzip payload (rpm -K: digests not OK): refused by the payload digest, nothing written" {
  repo_copy "$W/repo"
  f=$W/repo/libdemo-1.0-3.x86_64.rpm
  mangle library "$RPMS/libdemo-1.0-3.x86_64.rpm" "$f"
  run rpm -K "$f"
  assert_output --partial "DIGESTS NOT OK"
  rm -r "$W/repo/repodata"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-3.x86_64: libdemo-1.0-3.x86_64.rpm: corrupt package: the payload does not match the payload digest in its header"
  assert_line --partial "4 new, 0 up to date, 1 failed"
  refute [ -e "$W/libs/1.0-3.x86_64" ]
  run grep -c "0:1.0-3" "$W/libdemo.catalog"
  assert_output 0
}

@test "every single-bit flip in the compressed payload is refused" {
  for bit in 101 5003 17011 29999 41017 53003 61001 79997; do
    rm -rf "$W/repo"
    mkdir -p "$W/repo"
    mangle bit "$RPMS/libdemo-1.0-2.x86_64.rpm" "$W/repo/libdemo-1.0-2.x86_64.rpm" "$bit"
    createrepo_c -q "$W/repo" >/dev/null
    run download --repo "file://$W/repo"
    assert_failure
    assert_output --partial "libdemo-1.0-2.x86_64.rpm: corrupt package"
    refute [ -e "$W/libs/1.0-2.x86_64" ]
  done
}

@test "a zeroed block in the payload: a message naming the problem, never (null)" {
  mkdir -p "$W/repo"
  mangle zero "$RPMS/libdemo-1.0-3.x86_64.rpm" "$W/repo/libdemo-1.0-3.x86_64.rpm" 0.7
  # as rpm before 4.14 made them, with no payload digest: libarchive finds it
  mangle zero "$RPMS/libdemo-1.0-4.x86_64.rpm" "$W/zeroed.rpm" 0.7
  mangle nodigest "$W/zeroed.rpm" "$W/repo/libdemo-1.0-4.x86_64.rpm"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-3.x86_64: libdemo-1.0-3.x86_64.rpm: corrupt package: the payload does not match the payload digest in its header"
  assert_output --regexp "ulp-catalog: libdemo-1.0-4.x86_64: corrupt package payload: cannot read .+ \(damaged or truncated compressed data\)"
  refute_output --partial "(null)"
  assert_line --partial "0 new, 0 up to date, 2 failed"
}

@test "without a payload digest (rpm before 4.14), the library is checked against the header's file digest" {
  mkdir -p "$W/repo"
  mangle nodigest "$RPMS/libdemo-1.0-1.x86_64.rpm" "$W/repo/libdemo-1.0-1.x86_64.rpm"
  mangle library "$RPMS/libdemo-1.0-2.x86_64.rpm" "$W/changed.rpm"
  mangle nodigest "$W/changed.rpm" "$W/repo/libdemo-1.0-2.x86_64.rpm"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo"
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-2.x86_64: libdemo-1.0-2.x86_64.rpm: corrupt package: the library in the payload does not match the header"
  assert_line --partial "1 new, 0 up to date, 1 failed"
  grep -q " 0:1.0-1 " "$W/libdemo.catalog"
  refute [ -e "$W/libs/1.0-2.x86_64" ]
}

# pack_lib LIB ARCH RELEASE [EPOCH]: a libdemo package of ARCH holding LIB
# as its libdemo.so.1, in $W/rpms.
pack_lib() {
  local lib=$1 arch=$2 rel=$3 epoch=${4:-}
  cat >"$W/lib.spec" <<'SPEC'
Name: libdemo
Version: 1.0
Release: %{rel}
%{?epoch_:Epoch: %{epoch_}}
Summary: libdemo built elsewhere
License: MIT
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _binaries_in_noarch_packages_terminate_build 0
%description
A libdemo build.
%install
install -D -m 0755 %{lib} %{buildroot}/usr/lib/libdemo.so.1
%files
/usr/lib/libdemo.so.1
SPEC
  rm -rf "$W/top"
  rpmbuild -bb --nodeps --quiet --target "$arch" --define "_topdir $W/top" \
    --define "lib $lib" --define "rel $rel" ${epoch:+--define "epoch_ $epoch"} "$W/lib.spec" >/dev/null 2>&1
  mkdir -p "$W/rpms"
  for f in "$W"/top/RPMS/*/*.rpm; do
    mv "$f" "$W/rpms/${epoch:+$epoch-}$(basename "$f")"
  done
}

# i386_lib OUT: a 32-bit x86 libdemo.so.1 with a GNU build-ID.
i386_lib() {
  printf '.globl demo\n.text\ndemo: ret\n' | as --32 -o "$W/demo32.o" -
  ld -m elf_i386 -shared --build-id -soname libdemo.so.1 -o "$1" "$W/demo32.o"
}

@test "a multilib repository: i686 packages are passed over with a note and never fetched; --arch i686 says they are not x86-64" {
  i386_lib "$W/libdemo32.so.1"
  pack_lib "$W/libdemo32.so.1" i686 3
  repo_copy "$W/repo"
  cp "$W/rpms/libdemo-1.0-3.i686.rpm" "$W/repo/"
  createrepo_c -q "$W/repo" >/dev/null
  serve "$W/repo"
  run download --repo "$URL"
  assert_success
  assert_output --partial "ulp-catalog: note: libdemo-1.0-3.i686 passed over: not for this machine's x86_64 (--arch chooses)"
  assert_line "$W/libdemo.catalog: 5 versions: 5 new, 0 up to date, 0 failed"
  run download --repo "$URL"
  assert_success
  assert_line "$W/libdemo.catalog: 5 versions: 0 new, 5 up to date, 0 failed"
  run grep -c 'GET /libdemo-1.0-3.i686.rpm' "$W/http.log"
  assert_output 0
  run grep -c " i686 " "$W/libdemo.catalog"
  assert_output 0
  cp "$W/libdemo.catalog" "$W/before.catalog"
  run download --repo "$URL" --arch i686
  assert_failure
  assert_output --partial "ulp-catalog: libdemo-1.0-3.i686: /usr/lib/libdemo.so.1: not an x86-64 ELF file"
  refute_output --partial "build-ID"
  assert_line "$W/libdemo.catalog: 1 versions: 0 new, 0 up to date, 1 failed"
  cmp "$W/before.catalog" "$W/libdemo.catalog"
  refute [ -e "$W/libs/1.0-3.i686" ]
}

@test "builds of one version-release with another epoch or arch are kept apart: DEST/[EPOCH-]VERSION-RELEASE.ARCH" {
  rpm2archive - <"$RPMS/libdemo-1.0-1.x86_64.rpm" | tar -xzO ./usr/lib64/libdemo.so.1 >"$W/one.so"
  rpm2archive - <"$RPMS/libdemo-1.0-2.x86_64.rpm" | tar -xzO ./usr/lib64/libdemo.so.1 >"$W/two.so"
  pack_lib "$W/two.so" x86_64 1 2
  pack_lib "$W/one.so" noarch 1
  mkdir -p "$W/repo"
  cp "$RPMS/libdemo-1.0-1.x86_64.rpm" "$W"/rpms/*.rpm "$W/repo/"
  createrepo_c -q "$W/repo" >/dev/null
  run download --repo "file://$W/repo"
  assert_success
  assert_line "$W/libdemo.catalog: 3 versions: 3 new, 0 up to date, 0 failed"
  cmp "$W/one.so" "$W/libs/1.0-1.x86_64/libdemo.so.1"
  cmp "$W/one.so" "$W/libs/1.0-1.noarch/libdemo.so.1"
  cmp "$W/two.so" "$W/libs/2-1.0-1.x86_64/libdemo.so.1"
  run awk '!/^#/ {print $4, $5}' "$W/libdemo.catalog"
  assert_output "$(printf '0:1.0-1 noarch\n0:1.0-1 x86_64\n2:1.0-1 x86_64')"
  run download --repo "file://$W/repo"
  assert_line "$W/libdemo.catalog: 3 versions: 0 new, 3 up to date, 0 failed"
}

@test "list and lookup of a catalog that does not exist: an error naming it" {
  run "$CAT" list "$W/no-such.catalog"
  assert_failure 1
  assert_output "ulp-catalog list: $W/no-such.catalog: No such file or directory"
  run "$CAT" lookup 0123abcd "$W/no-such.catalog"
  assert_failure 1
  assert_output "ulp-catalog lookup: $W/no-such.catalog: No such file or directory"
  cp "$ROOT/catalog/libdemo.catalog" "$W/"
  run "$CAT" list "$W/libdemo.catalog" "$W/no-such.catalog"
  assert_failure 1
  assert_output "ulp-catalog list: $W/no-such.catalog: No such file or directory"
}

@test "list and lookup over several large catalogs: one line per package build (the later wins), every build-ID found" {
  sum=sha256:$(printf '0%.0s' $(seq 64))
  awk -v sum="$sum" 'BEGIN { for (i = 0; i < 3000; i++)
      printf "libx.so.1 %040x libx 0:1.%d-1 x86_64 %s /usr/lib64/libx.so.1\n", i * 7919 + 1, i, sum }' >"$W/a.catalog"
  # the second catalog gives the last 1000 builds of the first new build-IDs
  awk -v sum="$sum" 'BEGIN { for (i = 2000; i < 4000; i++)
      printf "libx.so.1 %040x libx 0:1.%d-1 x86_64 %s /usr/lib64/libx.so.1\n", i * 7919 + 2, i, sum }' >"$W/b.catalog"
  run "$CAT" list "$W/a.catalog" "$W/b.catalog"
  assert_success
  [ "${#lines[@]}" -eq 4000 ]
  [ "$(printf '%s\n' "${lines[@]}" | awk '{print $3}' | sort -u | wc -l)" -eq 4000 ]
  for i in 0 1 1999 2000 2999 3999; do
    id=$(printf '%040x' $((i * 7919 + (i < 2000 ? 1 : 2))))
    run "$CAT" lookup "$id" "$W/a.catalog" "$W/b.catalog"
    assert_success
    assert_output "libx.so.1 $id libx-1.$i-1.x86_64 /usr/lib64/libx.so.1"
  done
  run "$CAT" lookup "$(printf '%040x' $((2500 * 7919 + 1)))" "$W/a.catalog" "$W/b.catalog"
  assert_failure
  assert_output --partial "not in the catalog"
}

@test "temporaries a killed writer left are removed by the next download, but not another catalog's, nor while a writer holds the lock" {
  repo_copy "$W/repo"
  mkdir -p "$W/c"
  touch "$W/c/libdemo.catalog.ulpAb12Cd" "$W/c/libdemo.catalog.ulp0zZ9yY" \
    "$W/c/other.catalog.ulpXy34Zw" "$W/c/libdemo.catalog.ulp1234567" "$W/c/libdemo.catalog.keep"
  # a writer holding the lock on the directory: download waits for it
  flock "$W/c" sleep 2 &
  PIDS+=($!)
  sleep 0.3
  "$CAT" download --package libdemo --library libdemo.so.1 --dest "$W/libs" \
    --catalog "$W/c/libdemo.catalog" --repo "file://$W/repo" >"$W/out" 2>&1 &
  local dl=$!
  sleep 0.7
  [ -e "$W/c/libdemo.catalog.ulpAb12Cd" ]
  refute [ -e "$W/c/libdemo.catalog" ]
  wait "$dl"
  run cat "$W/out"
  assert_output --partial "ulp-catalog: waiting for another writer in $W/c"
  assert_output --partial "5 new, 0 up to date, 0 failed"
  run ls "$W/c"
  assert_output "$(printf '%s\n' libdemo.catalog libdemo.catalog.keep libdemo.catalog.ulp1234567 other.catalog.ulpXy34Zw)"
}

@test "a SIGKILL during a download leaves the catalog whole, and the next run finishes the work" {
  repo_copy "$W/repo"
  serve "$W/repo"
  for delay in 0.05 0.1 0.2 0.3; do
    "$CAT" download --package libdemo --library libdemo.so.1 --dest "$W/libs" \
      --catalog "$W/libdemo.catalog" --repo "$URL" >/dev/null 2>&1 &
    local dl=$!
    sleep "$delay"
    kill -9 "$dl" 2>/dev/null || true
    wait "$dl" || true
    [ ! -e "$W/libdemo.catalog" ] || "$CAT" list "$W/libdemo.catalog" >/dev/null
  done
  run download --repo "$URL"
  assert_success
  assert_line --regexp "5 versions: [0-5] new, [0-5] up to date, 0 failed"
  [ "$(grep -vc '^#' "$W/libdemo.catalog")" -eq 5 ]
  run find "$W" -name '*.ulp??????'
  assert_output ""
}

@test "--help of ulp-catalog and of each subcommand: its usage on stdout, exit 0" {
  for sub in download list lookup dist; do
    run --separate-stderr "$CAT" "$sub" --help
    assert_success
    assert_output --partial "usage: ulp-catalog $sub "
    [ -z "$stderr" ]
  done
  run --separate-stderr "$CAT" download --repo x -h
  assert_success
  assert_output --partial "usage: ulp-catalog download --repo URL"
  run --separate-stderr "$CAT" --help
  assert_success
  for sub in download list lookup dist; do
    assert_output --partial "ulp-catalog $sub"
  done
  run --separate-stderr "$CAT" download --no-such-option
  assert_failure 2
  [ -z "$output" ]
  [[ "$stderr" == *"usage: ulp-catalog download"* ]]
}
