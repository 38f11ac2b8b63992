#!/usr/bin/env bash
# make bench, part 7: a rollout of demo-livepatches 1 with fleet/'s
# playbooks to simulated hosts (fleet/sim/hosts.sh) running
# BENCH_FLEET_PROCS (50) processes each, for BENCH_FLEET_HOSTS
# ("2 6 10") hosts: configure.yml, then rollout.yml in its default waves
# (one canary, 25 %, the rest), wall time of each wave and in all, and
# that every process of every host was patched.  BENCH_FLEET_LOGS=DIR
# keeps each run's Ansible logs.
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$build/tests/rpm
FLEET=$top/fleet
procs=${BENCH_FLEET_PROCS:-50}
counts=${BENCH_FLEET_HOSTS:-2 6 10}
# Each process calls the library this often; at the tests' 1 ms, 500
# processes would take both cores of the machine away from Ansible.
monitor_us=${BENCH_FLEET_MONITOR_US:-100000}
source "$top/tests/scratch.sh"
source "$top/tests/fleet/lib.sh"

fleet_keys "$work/gnupg" >/dev/null
fleet_repo "$work/repo" "$work/signed"
trap 'for d in "$work"/run-*/hosts; do "$FLEET/sim/hosts.sh" down "$d"; done 2>/dev/null; gpgconf --kill gpg-agent; scratch_cleanup' EXIT

seconds() { awk "BEGIN { printf \"%.1f s\", $2 - $1 }"; }

# stamp: each line of standard input with the seconds since the epoch.
stamp() {
  while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
  done
}

echo "fleet rollout: $procs processes per host, hosts: $counts"
printf '%-6s %-12s %-30s %-10s\n' hosts configure "waves (hosts: seconds)" total
for n in $counts; do
  run=$work/run-$n
  mkdir -p "$run"
  FLEET_MONITORS=$procs FLEET_MONITOR_US=$monitor_us fleet_hosts_up "$run" "$n" "$work/repo" >/dev/null
  t0=$EPOCHREALTIME
  fleet_play "$run" configure.yml >"$run/configure.log" 2>&1 ||
    { echo "configure failed on $n hosts: see below" >&2; tail -30 "$run/configure.log" >&2; exit 1; }
  t1=$EPOCHREALTIME
  fleet_play "$run" rollout.yml -e livepatch_package=demo-livepatches \
    -e livepatch_version=1-1 2>&1 | stamp >"$run/rollout.log" ||
    { echo "rollout failed on $n hosts:" >&2; tail -30 "$run/rollout.log" >&2; exit 1; }
  t2=$EPOCHREALTIME
  fleet_play "$run" report.yml >/dev/null
  patched=$(python3 -c 'import json,sys
print(sum(h.get("counts", {}).get("patched", 0) for h in json.load(open(sys.argv[1]))["hosts"]))' "$run/report/fleet-report.json")
  [ "$patched" -eq $((n * procs)) ] ||
    { echo "$n hosts: $patched of $((n * procs)) processes patched" >&2; exit 1; }
  # A wave begins at its PLAY banner and ends at the next one (or the recap).
  waves=$(python3 - "$run/rollout.log" "$t2" <<'PY'
import re, sys
marks, hosts = [], []
for line in open(sys.argv[1]):
    t, _, text = line.partition(" ")
    if text.startswith("PLAY [Roll out") or text.startswith("PLAY RECAP"):
        marks.append(float(t))
    m = re.match(r"(ok|changed): \[(\S+)\]", text)
    if "TASK [livepatch_rollout : Host reachable]" in text:
        hosts.append(set())
    elif m and hosts:
        hosts[-1].add(m.group(2))
print(", ".join("%d: %.1f" % (len(h), b - a) for h, a, b in zip(hosts, marks, marks[1:])))
PY
)
  printf '%-6s %-12s %-30s %-10s\n' "$n" "$(seconds "$t0" "$t1")" "$waves" "$(seconds "$t1" "$t2")"
  [ -z "${BENCH_FLEET_LOGS:-}" ] || { mkdir -p "$BENCH_FLEET_LOGS/$n"; cp "$run"/*.log "$BENCH_FLEET_LOGS/$n/"; }
  "$FLEET/sim/hosts.sh" down "$run/hosts"
done
