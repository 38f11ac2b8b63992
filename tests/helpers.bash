# Shared setup for the Bats suite: real ulp, real runtime, real processes.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${ULP_BUILD:-$ROOT/build}
ULP=$BUILD/ulp
RUNTIME=$BUILD/libpulp.so.0
FIX=$BUILD/tests

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  # Nothing of the host's trust, policy, sealed copies or catalogs takes part.
  export ULP_TRUST_DIR=$W/trust.d ULP_CONFIG=$W/ulp.conf ULP_RUN_DIR=$W/run
  export ULP_CATALOG_DIR=$W/catalog
}

teardown() {
  if [ ${#PIDS[@]} -gt 0 ]; then
    { kill -9 "${PIDS[@]}"; wait "${PIDS[@]}"; } 2>/dev/null || true
  fi
}

# make_patch NAME SOURCE_SO LIBDIR OLD:NEW...: copies a container into the
# test's folder, writes NAME.dsc and packs it.
make_patch() {
  local name=$1 so=$2 libdir=$3
  shift 3
  cp "$FIX/$so" "$W/$name.so"
  { echo "$W/$name.so"; echo "@$libdir/libdemo.so.1"; printf '%s\n' "$@"; } >"$W/$name.dsc"
  "$ULP" packer "$W/$name.dsc" >/dev/null
}

patch_a() { make_patch a patch_a.so "$FIX/v1" demo_message:demo_message_a; }
patch_b() { make_patch b patch_b.so "$FIX/v1" demo_message:demo_message_b; }

# start PROGRAM LIBDIR ARGS...: runs a fixture with the runtime preloaded;
# its pid is in $LAST.  NORUNTIME=1 leaves the runtime out.
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

wait_for_maps() {
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

# Bytes of process PID's memory at ADDR (hex).
peek() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3])
with open(f"/proc/{pid}/mem", "rb") as f:
    f.seek(addr)
    print(f.read(n).hex())
PY
}

# File offset of section NAME in FILE, in decimal.
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
