#!/usr/bin/env bats
# ulp patches [-p PID|NAME|WILDCARD] [--json]
load helpers

# mapped_path PID: the path of libdemo.so.1 as the process maps it
mapped_path() {
  awk '$6 ~ /libdemo\.so\.1$/ { print $6; exit }' "/proc/$1/maps"
}

@test "patches: text output, patches in the order applied" {
  pack p1 patch1 "$LIB"
  pack s patch_scale "$LIB"
  start_demo out "$LIB"
  local pid=$LAST t0 id1 ids
  t0=$(date -u +%s)
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  "$ULP" trigger -q -p "$pid" "$W/s.so"
  id1=$(patch_id "$W/p1.so")
  ids=$(patch_id "$W/s.so")
  run --separate-stderr "$ULP" patches -p "$pid"
  assert_success
  assert_equal "${#lines[@]}" 6
  assert_line --index 0 "demo_target (pid $pid):"
  assert_line --index 1 "  libraries:"
  assert_line --index 2 "    $(mapped_path "$pid") (build-ID $(build_id "$LIB/libdemo.so.1"))"
  assert_line --index 3 "  patches:"
  assert_line --index 4 --regexp "^    $W/p1.so \(target libdemo.so.1, id $id1, applied [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\)$"
  assert_line --index 5 --regexp "^    $W/s.so \(target libdemo.so.1, id $ids, applied [0-9-]{10}T[0-9:]{8}Z\)$"
  # the time stamp is now-ish (generous bounds)
  [[ ${lines[4]} =~ applied\ ([0-9T:-]+)Z ]]
  local t
  t=$(date -u -d "${BASH_REMATCH[1]/T/ }" +%s)
  [ "$t" -ge $((t0 - 120)) ] && [ "$t" -le $(($(date -u +%s) + 120)) ] ||
    fail "applied at ${BASH_REMATCH[1]}, test started at $(date -u -d @"$t0")"
}

@test "patches --json: stable schema, order, counts; validated with python" {
  pack p1 patch1 "$LIB"
  pack m patch_multi "$LIB"
  start_demo out "$LIB"
  local pid=$LAST
  "$ULP" trigger -q -p "$pid" "$W/p1.so"
  "$ULP" trigger -q -p "$pid" "$W/m.so"
  run --separate-stderr "$ULP" patches -p "$pid" --json
  assert_success
  python3 - "$pid" "$(mapped_path "$pid")" "$(build_id "$LIB/libdemo.so.1")" \
    "$W/p1.so" "$(patch_id "$W/p1.so")" "$W/m.so" "$(patch_id "$W/m.so")" <<<"$output" 3<&0 <<'PY'
import json, re, sys, os
pid, lib, bid, c1, id1, c2, id2 = sys.argv[1:]
d = json.load(os.fdopen(3))
assert d["version"] == 1, d
assert list(d.keys()) == ["version", "processes"] or set(d) == {"version", "processes"}, d
procs = d["processes"]
assert len(procs) == 1, procs
p = procs[0]
assert set(p) >= {"pid", "name", "libraries", "patches"}, p
assert p["pid"] == int(pid) and isinstance(p["pid"], int), p
assert p["name"] == "demo_target", p
assert p["libraries"] == [{"path": lib, "soname": "libdemo.so.1", "build_id": bid}], p["libraries"]
pats = p["patches"]
assert [x["container"] for x in pats] == [c1, c2], pats
assert [x["id"] for x in pats] == [id1, id2], pats
assert all(x["target"] == "libdemo.so.1" for x in pats), pats
assert [x["functions"] for x in pats] == [1, 2], pats
for x in pats:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", x["applied_at"]), x
print("ok")
PY
}

@test "patches --json: an empty list after revert" {
  pack p1 patch1 "$LIB"
  start_demo out "$LIB"
  "$ULP" trigger -q -p "$LAST" "$W/p1.so"
  "$ULP" trigger -q --revert -p "$LAST" "$W/p1.so"
  run "$ULP" patches -p "$LAST" --json
  assert_success
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
p = d["processes"][0]
assert p["patches"] == [], p
assert len(p["libraries"]) == 1, p' <<<"$output"
}

@test "patches: processes with a livepatchable library, with or without the runtime; livepatchable libraries only" {
  start_demo a "$LIB"
  local a=$LAST
  NORUNTIME=1 start_demo b "$LIB"
  local b=$LAST
  start_demo c "$LIBPLAIN" plain_target
  local c=$LAST
  run --separate-stderr "$ULP" patches --json
  assert_success
  python3 -c '
import json, sys
a, b, c = map(int, sys.argv[1:])
d = json.loads(sys.stdin.read())
assert d["version"] == 1
by_pid = {p["pid"]: p for p in d["processes"]}
assert a in by_pid, "process with the runtime missing"
assert b in by_pid, "process without the runtime missing"
assert c not in by_pid, "process without a livepatchable library listed"
for p in a, b:
    assert [l["path"].rsplit("/", 1)[-1] for l in by_pid[p]["libraries"]] == ["libdemo.so.1"], by_pid[p]
    assert by_pid[p]["patches"] == []
' "$a" "$b" "$c" <<<"$output"
  run "$ULP" patches
  assert_success
  assert_line "demo_target (pid $a):"
  assert_line "demo_target (pid $b):"
  refute_line "plain_target (pid $c):"
}

@test "patches -p NAME and -p 'wild*'" {
  pack p1 patch1 "$LIB"
  start_demo a "$LIB"
  local a=$LAST
  start_demo o "$LIB" other_target
  local o=$LAST
  "$ULP" trigger -q -p "$o" "$W/p1.so"
  run "$ULP" patches -p other_target --json
  assert_success
  python3 -c '
import json, sys
o = int(sys.argv[1])
d = json.loads(sys.stdin.read())
assert [p["pid"] for p in d["processes"]] == [o], d
assert len(d["processes"][0]["patches"]) == 1' "$o" <<<"$output"
  run "$ULP" patches -p 'demo_*' --json
  assert_success
  python3 -c '
import json, sys
a = int(sys.argv[1])
d = json.loads(sys.stdin.read())
assert [p["pid"] for p in d["processes"]] == [a], d' "$a" <<<"$output"
  run "$ULP" patches -p "$a"
  assert_success
  assert_line "demo_target (pid $a):"
  refute_output --partial "(pid $o)"
}

@test "patches -p PID of a process without the runtime or that does not exist" {
  pack p1 patch1 "$LIB"
  NORUNTIME=1 start_demo a "$LIB"
  "$ULP" trigger -q -p "$LAST" "$W/p1.so"
  run --separate-stderr "$ULP" patches -p "$LAST" --json
  assert_success
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
(p,) = d["processes"]
assert [q["container"].rsplit("/", 1)[-1] for q in p["patches"]] == ["p1.so"], p' <<<"$output"
  run --separate-stderr "$ULP" patches -p "$(dead_pid)"
  [ "$status" -ne 0 ] || [ -z "$output" ] || fail "output for a dead pid: $output"
}

@test "patches: a loaded container is none of the process's libraries, applied or reverted" {
  # a container built with the patch flags of macros.ulp has patch areas too
  gcc -O2 -fPIC -shared -fpatchable-function-entry=16,14 -o "$W/lp.so" "$FIXSRC/patch1.c"
  make_dsc patch1 "$W/lp.so" "$LIB" >"$W/lp.dsc"
  "$ULP" packer "$W/lp.dsc" >/dev/null
  run "$ULP" livepatchable "$W/lp.so"
  assert_success
  start_demo out "$LIB"
  local pid=$LAST lib
  lib=$(mapped_path "$pid")
  "$ULP" trigger -q -p "$pid" "$W/lp.so"
  wait_for_file_content "$W/out.out" "patched 1 11"
  for step in applied reverted; do
    run --separate-stderr "$ULP" patches -p "$pid"
    assert_success
    assert_equal "$(sed -n '/^  libraries:$/,/^  patches:$/p' <<<"$output")" "  libraries:
    $lib (build-ID $(build_id "$LIB/libdemo.so.1"))
  patches:"
    run --separate-stderr "$ULP" patches -p "$pid" --json
    assert_success
    python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
libs = [l["path"] for l in d["processes"][0]["libraries"]]
assert libs == [sys.argv[1]], libs' "$lib" <<<"$output"
    [ "$step" = reverted ] || "$ULP" trigger -q --revert -p "$pid" "$W/lp.so"
  done
}

# hostile_target: a demo_target whose name holds an escape sequence (OSC,
# which sets a terminal's title), a BEL and a byte that is not UTF-8, mapping libdemo.so.1 from a
# folder whose name has an escape sequence, a backslash, a byte that is not
# UTF-8 and an "é"; patched with a container whose folder name has an
# escape sequence and a C1 control (U+009B, CSI).  Sets LIBDIR, CONTAINER and
# the pid in $LAST.
hostile_target() {
  LIBDIR=$W/$'lib\033[31m\\\xff\xc3\xa9'
  CONTAINER=$W/$'c\033[2J\xc2\x9b'/c.so
  mkdir "$LIBDIR" "${CONTAINER%/*}"
  cp "$LIB/libdemo.so.1" "$LIBDIR/"
  cp "$FIX/patch1.so" "$CONTAINER"
  printf '%s\n@%s\n%s\n' "$CONTAINER" "$LIBDIR/libdemo.so.1" \
    demo_message:demo_message_p1 >"$W/c.dsc"
  "$ULP" packer "$W/c.dsc" >/dev/null
  DEMO_TARGET_NAME=$'\033]0;pwn\a\xff' start_demo out "$LIBDIR"
  "$ULP" trigger -q -p "$LAST" "$CONTAINER"
  wait_for_file_content "$W/out.out" "patched 1 11"
}

@test "patches: control characters and invalid UTF-8 from processes are escaped in text output" {
  hostile_target
  run "$ULP" patches -p "$LAST"
  assert_success
  "$ULP" patches -p "$LAST" >"$W/text"
  # control characters (but newlines), DEL and bytes that are not UTF-8
  # come out as \xNN, a backslash as \\, valid UTF-8 (é) as it is
  python3 - "$W/text" <<'PY'
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")  # strict
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
assert not bad, bad
PY
  # (the process reader already turns control characters and bytes that
  # are not UTF-8 in a name into ?, as in every report line)
  assert_line --index 0 "?]0;pwn?? (pid $LAST):"
  assert_line --index 2 --partial "/lib\\x1b[31m\\\\\\xffé/libdemo.so.1 (build-ID "
  assert_line --index 4 --partial "/c\\x1b[2J\\xc2\\x9b/c.so (target libdemo.so.1, "
}

@test "patches --json: control characters escaped, invalid UTF-8 replaced by U+FFFD, valid JSON" {
  hostile_target
  "$ULP" patches -p "$LAST" --json >"$W/json"
  python3 - "$W/json" "$W" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
assert all(b >= 0x20 for b in data.rstrip(b"\n")), "raw control byte in the JSON"
d = json.loads(data.decode("utf-8"))  # strict: invalid UTF-8 raises
p = d["processes"][0]
assert p["name"] == "?]0;pwn??", p["name"]
lib = sys.argv[2] + "/lib\x1b[31m\\\ufffd\u00e9/libdemo.so.1"
assert [l["path"] for l in p["libraries"]] == [lib], (p["libraries"], lib)
container = sys.argv[2] + "/c\x1b[2J\u009b/c.so"
assert [x["container"] for x in p["patches"]] == [container], p["patches"]
for raw in (b"\\u001b", b"\\u009b", b"\\ufffd"):
    assert raw in data, (raw, data)
PY
}

@test "comments of the description ('!' lines, as libpulp writes them) are kept: ulp dump shows them, ulp patches lists their bug and CVE ids" {
  start_demo out "$LIB"
  cp "$FIX/patch_a.so" "$W/a.so"
  {
    echo "! This livepatch fixes bsc#1200316, jsc#SLE-20049, and CVE-2021-3449."
    echo "$W/a.so"
    echo "@$LIB/libdemo.so.1"
    echo "! also boo#77 (not xbsc#12)"
    echo "demo_message:demo_message_a"
  } >"$W/a.dsc"
  "$ULP" packer "$W/a.dsc"
  run "$ULP" dump "$W/a.so"
  assert_success
  assert_line "comments:  This livepatch fixes bsc#1200316, jsc#SLE-20049, and CVE-2021-3449."
  assert_line "           also boo#77 (not xbsc#12)"
  assert_line "labels:    bsc#1200316 jsc#SLE-20049 CVE-2021-3449 boo#77"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  wait_for_file_content "$W/out.out" "patch A 11"
  run "$ULP" patches -p "$LAST"
  assert_success
  assert_line "      fixes: bsc#1200316 jsc#SLE-20049 CVE-2021-3449 boo#77"
  run "$ULP" patches -p "$LAST" --json
  assert_success
  echo "$output" | python3 -c '
import json, sys
patch = json.load(sys.stdin)["processes"][0]["patches"][0]
assert patch["labels"] == ["bsc#1200316", "jsc#SLE-20049", "CVE-2021-3449", "boo#77"], patch'
}
