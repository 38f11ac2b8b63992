# The Bats suite's shared helpers: the real ulp tool, the real runtime,
# real target processes built from tests/targets/ (its Makefile lists the
# fixtures).  Loaded by every tests/*.bats file, and by tests/rpm.bash.
#
#   ULP_BUILD      where ulp and libpulp.so.0 are (default <repo>/build)
#   ULP_FIXTURES   where the fixtures are built (default $ULP_BUILD/tests);
#                  built on demand (make -C tests/targets) when missing.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${ULP_BUILD:-$ROOT/build}
ULP=$BUILD/ulp
RUNTIME=$BUILD/libpulp.so.0
FIX=${ULP_FIXTURES:-$BUILD/tests} # built fixtures
FIXSRC=$ROOT/tests/targets        # their sources

# Builds of libdemo.so.1 (see tests/targets/Makefile).  From libdemo.c, the
# library the rpm packages ship: $FIX/v1 (endbr64 entries), $FIX/v2 and
# $FIX/plain (not livepatchable).  From libdemo_ext.c:
LIB=$FIX/lib         # livepatchable, no endbr64
LIBCET=$FIX/lib-cet  # livepatchable, endbr64 at every exported entry
LIBV2=$FIX/lib-v2    # livepatchable, other build of libdemo.so.1
LIBPLAIN=$FIX/lib-plain # libplain.so.1, not livepatchable

# --- fixtures -------------------------------------------------------------

_fixtures_missing() {
  local f
  for f in v1/libdemo.so.1 v2/libdemo.so.1 plain/libdemo.so.1 lib/libdemo.so.1 \
    lib-cet/libdemo.so.1 lib-v2/libdemo.so.1 lib-badpad/libdemo.so.1 \
    lib-plain/libplain.so.1 demo_loop demo_target other_target plain_target \
    stress stress_target monitor_target sleeper syscall_target libc_spinner \
    in_libc patch_a.so patch_b.so patch_hidden.so patch_v2.so \
    patch_unloadable.so patch1.so patch2.so patch_scale.so patch_variant.so \
    patch_multi.so patch_ctor.so patch_tls.so patch_needs.so patch_libc.so patch_refs.so \
    lock_holder; do
    [ -e "$FIX/$f" ] || return 0
  done
  return 1
}

if _fixtures_missing; then
  mkdir -p "$FIX"
  (
    flock 9
    if _fixtures_missing; then
      make -s -C "$FIXSRC" OUT="$FIX" >&2
    fi
  ) 9>"$FIX/.fixtures.lock" || {
    echo "cannot build the fixtures (make -C $FIXSRC OUT=$FIX)" >&2
    exit 1
  }
fi

# --- per-test state ---------------------------------------------------------

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  CTL_FDS=()
  # Nothing of the host's trust, policy or catalogs takes
  # part: no trust store and no config means no signature required.
  export ULP_TRUST_DIR=$W/trust.d ULP_CONFIG=$W/ulp.conf
  export ULP_CATALOG_DIR=$W/catalog ULP_LOG=$W/ulp.log
  [ -x "$ULP" ] || fail "no ulp tool at $ULP (run make)"
  [ -e "$RUNTIME" ] || fail "no runtime at $RUNTIME (run make)"
}

# Kills every process the test started ($PIDS) and closes the control FIFOs.
teardown() {
  local fd
  if [ ${#PIDS[@]} -gt 0 ]; then
    { kill -9 "${PIDS[@]}"; wait "${PIDS[@]}"; } 2>/dev/null || true
  fi
  for fd in ${CTL_FDS[@]+"${CTL_FDS[@]}"}; do
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

# --- processes --------------------------------------------------------------

# start PROGRAM LIBDIR ARGS...: runs $FIX/PROGRAM with the runtime preloaded
# (NORUNTIME=1: without it) and LD_LIBRARY_PATH=LIBDIR; returns once it maps
# libdemo.so.1.  Its pid is in $LAST.
start() {
  local prog=$1 libdir=$2
  shift 2
  if [ -n "${NORUNTIME:-}" ]; then
    LD_LIBRARY_PATH=$libdir "$FIX/$prog" "$@" &
  else
    LD_PRELOAD=$RUNTIME LD_LIBRARY_PATH=$libdir "$FIX/$prog" "$@" &
  fi
  LAST=$!
  PIDS+=("$LAST")
  wait_for_maps "$LAST" libdemo.so.1
}

start_loop() { # LIBDIR [NAME]: a demo_loop writing to $W/NAME.out
  start demo_loop "$1" "$W/${2:-out}.out"
  wait_for_output "${2:-out}" "original"
}

wait_for_maps() { # PID TEXT: until /proc/PID/maps mentions TEXT
  for _ in $(seq 200); do
    grep -q "$2" "/proc/$1/maps" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "process $1 never mapped $2" >&2
  return 1
}

# wait_for_output NAME TEXT: waits until $W/NAME.out contains TEXT.
wait_for_output() {
  for _ in $(seq 300); do
    grep -q "$2" "$W/$1.out" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "$W/$1.out never showed '$2'; it has: $(cat "$W/$1.out" 2>/dev/null)" >&2
  return 1
}

# start_target PROGRAM LIBDIR ARGS...: starts $FIX/PROGRAM with the runtime
# preloaded (NORUNTIME=1: without it) and LD_LIBRARY_PATH=LIBDIR, tracks its
# pid for teardown and leaves it in $LAST.  Its stdout/stderr go to
# $W/PROGRAM.{stdout,stderr}.
start_target() {
  local prog=$1 libdir=$2 pid
  shift 2
  if [ -n "${NORUNTIME:-}" ]; then
    LD_LIBRARY_PATH=$libdir "$FIX/$prog" "$@" >"$W/$prog.stdout" 2>"$W/$prog.stderr" 3>&- &
  else
    LD_PRELOAD=$RUNTIME LD_LIBRARY_PATH=$libdir "$FIX/$prog" "$@" \
      >"$W/$prog.stdout" 2>"$W/$prog.stderr" 3>&- &
  fi
  pid=$!
  PIDS+=("$pid")
  LAST=$pid
}

# start_demo NAME LIBDIR [PROGRAM]: a demo_target (or PROGRAM) writing its
# output to $W/NAME.out; returns once it has written its first line.
# The pid is left in $LAST.
start_demo() {
  local name=$1 libdir=$2 prog=${3:-demo_target}
  start_target "$prog" "$libdir" "$W/$name.out"
  case $libdir in
  *-v2) wait_for_file_content "$W/$name.out" "original v2 11" ;;
  *-plain) wait_for_file_content "$W/$name.out" "plain 8" ;;
  *) wait_for_file_content "$W/$name.out" "original 11" ;;
  esac
}

# unique_lib [v2]: builds a private libdemo.so.1 (like lib/, or like lib-v2/)
# whose build-ID no other process on the host shares, and prints its folder
# ($W/ulib or $W/ulib-v2).  Tests that trigger without a PID (or by name)
# use it, so they neither touch nor see processes of other tests or of a
# concurrent run of the suite.
unique_lib() {
  local dir=$W/ulib variant=()
  if [ "${1:-}" = v2 ]; then
    dir=$W/ulib-v2
    variant=(-DDEMO_VARIANT=2)
  fi
  if [ ! -e "$dir/libdemo.so.1" ]; then
    mkdir -p "$dir"
    gcc -std=gnu11 -O2 -g -fpatchable-function-entry=16,14 -fcf-protection=none \
      "${variant[@]}" -DDEMO_SALT="\"$dir $$ $RANDOM\"" -fPIC -shared \
      -Wl,-soname,libdemo.so.1 -Wl,--build-id=sha1 \
      -o "$dir/libdemo.so.1" "$FIXSRC/libdemo_ext.c" >&2 || return 1
  fi
  echo "$dir"
}

# wait_for_file_content FILE TEXT [SECONDS]: polls until FILE holds exactly
# TEXT (one trailing newline ignored); fails with what it holds otherwise.
wait_for_file_content() {
  local file=$1 want=$2 secs=${3:-10} i have
  for ((i = 0; i < secs * 200; i++)); do
    have=$(cat "$file" 2>/dev/null) || true
    [ "$have" = "$want" ] && return 0
    sleep 0.005
  done
  fail "$file never became '$want'; it holds '$have'"
}

# stays_content FILE TEXT: FILE holds TEXT now and still does after ~15
# iterations of a demo_target (150 ms); used to show something did NOT change.
stays_content() {
  local file=$1 want=$2 i have
  for ((i = 0; i < 15; i++)); do
    have=$(cat "$file" 2>/dev/null) || true
    if [ "$have" != "$want" ]; then
      fail "$file changed to '$have' (expected it to stay '$want')"
      return 1
    fi
    sleep 0.01
  done
}

# assert_alive PID: some thread of process PID runs on (its main thread
# may have ended before the others).
assert_alive() {
  local states
  states=$(cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1) || true
  if ! grep -q '[^ZX]' <<<"$states"; then
    fail "process $1 died"
    return 1
  fi
}

# a pid that belongs to no process
dead_pid() {
  sh -c 'exit 0' &
  local pid=$!
  wait "$pid" || true
  echo "$pid"
}

# --- control FIFOs of stress/monitor/syscall targets ------------------------

# The line a watcher writes to a target's ACK FIFO when the target is gone.
CTL_GONE='ctl: the target is gone'

# ctl_make NAME: creates $W/NAME.ctl and $W/NAME.ack and opens both
# read-write (never blocks); sets CTL_IN_NAME / CTL_OUT_NAME fd variables.
ctl_make() {
  local name=$1 in out
  mkfifo "$W/$name.ctl" "$W/$name.ack"
  exec {in}<>"$W/$name.ctl"
  exec {out}<>"$W/$name.ack"
  CTL_FDS+=("$in" "$out")
  printf -v "CTL_IN_$name" %s "$in"
  printf -v "CTL_OUT_$name" %s "$out"
}

# start_ctl_target NAME PROGRAM LIBDIR ARGS...: ctl_make NAME, then
# start_target PROGRAM LIBDIR ARGS... (ARGS usually name $W/NAME.ctl and
# $W/NAME.ack).  A watcher writes $CTL_GONE to the ACK FIFO once the target
# has exited, so ctl, blocked in a read, learns of it at once.
start_ctl_target() {
  local name=$1 out
  shift
  ctl_make "$name"
  start_target "$@"
  printf -v "CTL_PID_$name" %s "$LAST"
  out=CTL_OUT_$name
  { tail --pid="$LAST" -s 0.02 -f /dev/null 2>/dev/null; echo "$CTL_GONE"; } \
    >&"${!out}" 3>&- &
  PIDS+=("$!")
}

# ctl NAME COMMAND: sends COMMAND and prints the one-line answer (fails
# when the target died, or after 60 s without an answer).  The answer is
# read whole by one blocking read: a read that times out in the middle of
# a line would lose what it had read, so the only timeout is the one that
# fails the test anyway.
ctl() {
  local name=$1 cmd=$2 in out pidvar reply
  in=CTL_IN_$name
  out=CTL_OUT_$name
  pidvar=CTL_PID_$name
  echo "$cmd" >&"${!in}"
  if ! IFS= read -r -t 60 -u "${!out}" reply; then
    echo "no answer from target '$name' to '$cmd' in 60 s" >&2
    return 1
  fi
  if [ "$reply" = "$CTL_GONE" ]; then
    echo "target '$name' (pid ${!pidvar}) died before answering '$cmd'" \
      "(stderr: $(cat "$W"/*.stderr 2>/dev/null))" >&2
    return 1
  fi
  echo "$reply"
}

# ctl_field "a=1 b=2" b -> 2
ctl_field() {
  sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# --- patches ----------------------------------------------------------------

# refused DSC LINE REASON FILES...: runs the packer on DSC and checks the
# refusal (exit 1, nothing on stdout, stderr "ulp packer: DSC:LINE: ..."
# with the contract's REASON phrase in it) and that every one of FILES is
# byte-for-byte unchanged.  REASON_RE=regex: match the reason with a regex
# instead (for wording the contract leaves open, e.g. where TARGET goes).
refused() {
  local dsc=$1 line=$2 reason=$3 f
  shift 3
  for f in "$@"; do cp "$f" "$f.before"; done
  run --separate-stderr "$ULP" packer "$dsc"
  assert_failure 1
  assert_output ""
  [[ $stderr == "ulp packer: $dsc:$line: "* ]] ||
    fail "expected stderr to start with 'ulp packer: $dsc:$line: ', got: $stderr"
  if [ -n "${REASON_RE:-}" ]; then
    [[ $stderr =~ $REASON_RE ]] ||
      fail "expected the reason /$REASON_RE/ on stderr, got: $stderr"
  else
    [[ $stderr == *"$reason"* ]] ||
      fail "expected the reason '$reason' on stderr, got: $stderr"
  fi
  for f in "$@"; do
    cmp "$f.before" "$f" || fail "$f was modified by a refused packer run"
  done
}


# make_dsc TEMPLATE CONTAINER LIBDIR > FILE: a description from
# tests/targets/TEMPLATE.dsc.in with absolute paths.
make_dsc() {
  sed -e "s|%CONTAINER%|$2|" -e "s|%LIBDIR%|$3|" "$FIXSRC/$1.dsc.in"
}

# pack NAME TEMPLATE LIBDIR [DIR]: copies $FIX/TEMPLATE.so to DIR/NAME.so
# (DIR defaults to $W), writes DIR/NAME.dsc and packs it; fails the test if
# the packer fails.
pack() {
  local name=$1 tpl=$2 libdir=$3 dir=${4:-$W}
  mkdir -p "$dir"
  cp "$FIX/$tpl.so" "$dir/$name.so"
  make_dsc "$tpl" "$dir/$name.so" "$libdir" >"$dir/$name.dsc"
  "$ULP" packer "$dir/$name.dsc" >/dev/null ||
    fail "ulp packer $dir/$name.dsc failed"
}

# make_patch NAME SOURCE_SO LIBDIR OLD:NEW...: copies $FIX/SOURCE_SO to
# $W/NAME.so, writes $W/NAME.dsc for LIBDIR/libdemo.so.1 and packs it.
make_patch() {
  local name=$1 so=$2 libdir=$3
  shift 3
  cp "$FIX/$so" "$W/$name.so"
  { echo "$W/$name.so"; echo "@$libdir/libdemo.so.1"; printf '%s\n' "$@"; } >"$W/$name.dsc"
  "$ULP" packer "$W/$name.dsc" >/dev/null
}

patch_a() { make_patch a patch_a.so "$FIX/v1" demo_message:demo_message_a; }
patch_b() { make_patch b patch_b.so "$FIX/v1" demo_message:demo_message_b; }

build_id() {
  readelf -n "$1" | sed -n 's/^ *Build ID: *//p'
}

# symbol_value FILE SYMBOL: st_value of SYMBOL in FILE's .symtab, in decimal
symbol_value() {
  local hex
  hex=$(readelf -sW "$1" | awk -v s="$2" '$8 == s { print $2; exit }')
  [ -n "$hex" ] || return 1
  echo $((16#$hex))
}

# entry_addr PID LIBPATH SYMBOL: run-time address (decimal) of SYMBOL
entry_addr() {
  echo $(($(lib_base "$1" "$2") + $(symbol_value "$2" "$3")))
}

# patch_id CONTAINER: the patch id printed by ulp dump
patch_id() {
  "$ULP" dump "$1" | sed -n 's/^patch id: *//p'
}

# --- process memory ---------------------------------------------------------

# lib_base PID PATH_PART: load address (decimal) of the mapping of a file
# whose path contains PATH_PART at file offset 0.
lib_base() {
  local hex
  hex=$(awk -v p="$2" 'index($6, p) && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' "/proc/$1/maps")
  [ -n "$hex" ] || return 1
  echo $((16#$hex))
}

# peek PID ADDR N: N bytes of PID's memory at ADDR (hex, without 0x), as hex
peek() {
  python3 - "$@" <<'PY'
import sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3])
with open(f"/proc/{pid}/mem", "rb") as f:
    f.seek(addr)
    print(f.read(n).hex())
PY
}

# file_bytes FILE OFFSET N: N bytes of FILE at a virtual address OFFSET of a
# shared object (mapped 1:1 for the text of our fixtures), as hex
file_bytes() {
  python3 - "$@" <<'PY'
import sys
path, vaddr, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
import struct
data = open(path, "rb").read()
# translate the virtual address through the PT_LOAD program headers
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
for i in range(phnum):
    p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz = struct.unpack_from(
        "<IIQQQQ", data, phoff + i * phentsize)
    if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:
        off = vaddr - p_vaddr + p_offset
        print(data[off:off + n].hex())
        break
else:
    sys.exit("address not in a PT_LOAD segment")
PY
}

# section_offset FILE NAME: file offset of section NAME in FILE, in decimal
section_offset() {
  python3 - "$1" "$2" <<'PY'
import re, subprocess, sys
out = subprocess.run(["readelf", "-S", "-W", sys.argv[1]], capture_output=True, text=True).stdout
for line in out.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
    if m and m.group(1) == sys.argv[2]:
        print(int(m.group(2), 16))
        break
else:
    sys.exit(f"no section {sys.argv[2]}")
PY
}

# need_fixtures PROGRAM...: builds the fixtures of tests/targets not built
# yet (make fixtures builds them all; a test file run alone needs this).
need_fixtures() {
  local f missing=()
  for f in "$@"; do
    [ -e "$FIX/$f" ] || missing+=("$FIX/$f")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  (
    flock 9
    make -s -C "$FIXSRC" OUT="$FIX" "${missing[@]}" >&2
  ) 9>"$FIX/.fixtures.lock"
}

ms_now() { date +%s%3N; }

# field NAME KEY: the value of KEY= in $W/NAME.out (targets writing
# "MESSAGE count=N maxgap=MS", tests/targets/tr_loop.h)
field() {
  sed -n "s/.* $2=\\([0-9]*\\).*/\\1/p" "$W/$1.out"
}

# runs_on NAME: the main thread's count in $W/NAME.out still goes up
runs_on() {
  local before
  before=$(field "$1" count)
  for _ in $(seq 500); do
    [ "$(field "$1" count)" -gt "$before" ] 2>/dev/null && return 0
    sleep 0.01
  done
  fail "the main thread stopped counting at $before"
}

# wait_for_dstate PID: until a thread of PID sleeps uninterruptibly
wait_for_dstate() {
  for _ in $(seq 1000); do
    grep -qs '^State:.*D' /proc/"$1"/task/*/status && return 0
    sleep 0.01
  done
  fail "no thread of $1 ever went into D state"
}

# no_dstate PID: until no thread of PID sleeps uninterruptibly
no_dstate() {
  for _ in $(seq 1500); do
    grep -qs '^State:.*D' /proc/"$1"/task/*/status || return 0
    sleep 0.01
  done
  fail "a thread of $1 stayed in D state"
}

# not_traced PID: no thread of PID is traced (or held) by anyone
not_traced() {
  local t
  for t in /proc/"$1"/task/*; do
    grep -q '^TracerPid:[[:space:]]*0$' "$t/status" ||
      fail "thread ${t##*/} is still traced: $(grep TracerPid "$t/status")"
    case $(awk '{print $3}' "$t/stat") in
    t | T) fail "thread ${t##*/} is stopped" ;;
    esac
  done
}
