# Shared setup of the fleet tests: a vendor's package key and a repository
# owner's key (gpg), the test packages signed with rpmsign and published
# with signed metadata (fleet/bin), simulated hosts (fleet/sim/hosts.sh),
# and the fleet's Ansible playbooks run against them.
load helpers

PKG=$FIX/rpm
FLEET=$ROOT/fleet

source "$ROOT/tests/fleet/lib.sh"

# Where simulated hosts cannot run (hosts.sh possible says why: no root, no
# namespaces), every test is skipped with the reason
# (fleet_skip_unless_possible in setup).
fleet_setup_file() {
  local why
  if ! why=$("$FLEET/sim/hosts.sh" possible); then
    export FLEET_IMPOSSIBLE="simulated hosts cannot run here: $why"
    return 0
  fi
  fleet_keys "$BATS_FILE_TMPDIR/gnupg"
  fleet_repo "$BATS_FILE_TMPDIR/repo" "$BATS_FILE_TMPDIR/signed"
}

fleet_skip_unless_possible() {
  [ -z "${FLEET_IMPOSSIBLE:-}" ] || skip "$FLEET_IMPOSSIBLE"
}

fleet_teardown_file() {
  gpgconf --kill gpg-agent 2>/dev/null || true
}

# hosts_up N: N simulated hosts serving $REPO on their own 127.0.0.1:8080.
hosts_up() {
  HOSTS=$W/hosts
  fleet_hosts_up "$W" "$1" "$REPO"
}

# configured_hosts N: N hosts up ($NHOSTS) and configured by configure.yml.
configured_hosts() {
  NHOSTS=$1
  hosts_up "$1"
  play configure.yml
  assert_success
}

hosts_down() {
  [ -z "${HOSTS:-}" ] || "$FLEET/sim/hosts.sh" down "$HOSTS"
}

# play PLAYBOOK [ansible-playbook options]: one of the fleet's playbooks
# against the simulated hosts; output in $output, status in $status.
play() {
  local book=$1
  shift
  run fleet_play "$W" "$book" "$@"
}

# rollout [ansible-playbook options]: rollout.yml, then report.yml as an
# operator runs them; $output and $status are the rollout's, the report
# is in $W/report.
rollout() {
  rm -rf "$W/report"
  play rollout.yml "$@"
  local rc=$status out=$output
  play report.yml "$@"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  status=$rc output=$out
}

# host_file I PATH: PATH as host I sees it (its overlays).
host_file() {
  local upper=$HOSTS/host$1/upper$2
  if [ -e "$upper" ]; then cat "$upper"; else cat "$2"; fi
}

# monitor_log I J: what monitor J of host I ran, one line per version.
monitor_log() {
  host_file "$1" "/var/log/monitor-$2.log" | uniq
}

# in_host I COMMAND...: COMMAND inside host I's namespaces.
in_host() {
  local pid
  pid=$(cat "$HOSTS/host$1/pid")
  shift
  nsenter --ipc --mount --net --pid --uts --target="$pid" "$@"
}

# report_of HOST FIELD: a field of the fleet report's entry for HOST (jq-like
# path through python).
report_of() {
  python3 -c 'import json,sys
r = {h["host"]: h for h in json.load(open(sys.argv[1]))["hosts"]}[sys.argv[2]]
for k in sys.argv[3].split("."):
    r = r[int(k)] if isinstance(r, list) else r.get(k)
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$W/report/fleet-report.json" "$1" "$2"
}
