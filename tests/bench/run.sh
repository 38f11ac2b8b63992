#!/usr/bin/env bash
# make bench: trigger latency against many idle and busy processes.
# Environment: ULP_BUILD (build dir), BENCH_IDLE (200), BENCH_BUSY (20),
# BENCH_THREADS (5 spinning threads per busy process), BENCH_RUNS (10).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${ULP_BUILD:-$here/../../build}
bench=$build/bench
idle=${BENCH_IDLE:-200}
busy=${BENCH_BUSY:-20}
threads=${BENCH_THREADS:-5}
runs=${BENCH_RUNS:-10}
ulp=$build/ulp

make -s -C "$here" OUT="$bench"
source "$here/../scratch.sh"

cp "$bench/bench_patch.so" "$work/patch.so"
printf '%s\n@%s\nbench_step:bench_step_v2\n' "$work/patch.so" \
  "$bench/libbench.so.1" >"$work/patch.dsc"
"$ulp" packer "$work/patch.dsc" >/dev/null

# Triggers run as a host would: signed container, signatures enforced.
export ULP_TRUST_DIR=$work/trust ULP_CONFIG=$work/ulp.conf ULP_RUN_DIR=$work/run
mkdir -p "$ULP_TRUST_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" \
  -out "$ULP_TRUST_DIR/ca.pem" -subj "/CN=Bench CA" -days 2 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/vendor.key" \
  -out "$work/vendor.csr" -subj "/CN=Bench vendor" 2>/dev/null
openssl x509 -req -in "$work/vendor.csr" -CA "$ULP_TRUST_DIR/ca.pem" \
  -CAkey "$work/ca.key" -CAcreateserial -days 2 -out "$work/vendor.pem" \
  -extfile <(echo "extendedKeyUsage=codeSigning") 2>/dev/null
"$ulp" sign --key "$work/vendor.key" --cert "$work/vendor.pem" \
  "$work/patch.so" >/dev/null
echo "require_signature = yes" >"$ULP_CONFIG"

start_targets() { # COUNT THREADS
  for ((i = 0; i < $1; i++)); do
    LD_PRELOAD=$build/libpulp.so.0 "$bench/bench_target" "$2" &
    pids+=($!)
  done
  sleep 1
}

stop_targets() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
}

# Runs RUNS applies and RUNS reverts, each timed by the timer helper at
# nice -20 (the same harness serves any tool compared with this one), and
# collects per-process stop times into $work/stops.LABEL.
measure() { # LABEL EXPECTED
  local label=$1 expected=$2 walls=() out
  for ((r = 0; r < runs; r++)); do
    for mode in apply revert; do
      args=()
      [ $mode = revert ] && args=(--revert)
      out=$(nice -n -20 "$bench/timer" "$ulp" trigger --timing "${args[@]}" \
        "$work/patch.so" 2>"$work/wall")
      grep -q "^summary: $expected succeeded, 0 skipped, 0 failed" <<<"$out" || {
        echo "bench: unexpected result in $label ($mode):" >&2
        grep -v '^timing' <<<"$out" | grep -v SUCCESS >&2
        exit 1
      }
      walls+=($(sed -n 's/^wall_us=//p' "$work/wall"))
      sed -n 's/^timing: pid [0-9]* stopped_us=\([0-9]*\) thread_max_us=\([0-9]*\)/\1 \2/p' \
        <<<"$out" >>"$work/stops.$label"
    done
  done
  printf '%s\n' "${walls[@]}" >"$work/walls.$label"
}

summarise() { # LABEL DESCRIPTION
  python3 - "$work/walls.$1" "$work/stops.$1" "$2" <<'PY'
import sys
walls = sorted(int(x) / 1000 for x in open(sys.argv[1]))
stops = [l.split() for l in open(sys.argv[2])]
held = sorted(int(a) / 1000 for a, b in stops)
thread = sorted(int(b) / 1000 for a, b in stops)
def pct(v, p): return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print(f"{sys.argv[3]}")
print(f"  trigger wall time (ms): min {walls[0]:.1f}  median {pct(walls,50):.1f}  max {walls[-1]:.1f}  ({len(walls)} triggers)")
print(f"  process fully stopped (ms): p50 {pct(held,50):.3f}  p99 {pct(held,99):.3f}  max {held[-1]:.3f}  ({len(held)} process stops)")
print(f"  longest single-thread hold (ms): p50 {pct(thread,50):.3f}  p99 {pct(thread,99):.3f}  max {thread[-1]:.3f}")
PY
}

echo "machine: $(nproc) cores, $(uname -r); $runs applies + $runs reverts per case"
echo "container: $(stat -c %s "$work/patch.so") bytes, RSA-2048 signature, signatures enforced"

# Verification alone: ulp verify, start to exit.
for ((r = 0; r < 20; r++)); do
  nice -n -20 "$bench/timer" "$ulp" verify --timing "$work/patch.so" \
    >>"$work/verify" 2>&1
done
python3 - "$work/verify" <<'PY'
import sys
lines = open(sys.argv[1]).read().split()
def stat(key):
    v = sorted(int(x.split("=")[1]) / 1000 for x in lines if x.startswith(key))
    return f"median {v[len(v)//2]:.2f} ms, max {v[-1]:.2f} ms"
print(f"signature check, first in a process (OpenSSL start-up, trust store, chain, signature): {stat('verify_us')}")
print(f"ulp verify as a whole command: {stat('wall_us')} (20 runs)")
PY
start_targets "$idle" 0
measure idle "$idle"
stop_targets
summarise idle "$idle idle processes"

start_targets "$busy" "$threads"
measure busy "$busy"
stop_targets
summarise busy "$busy busy processes x $threads threads spinning in the target library"
