#!/usr/bin/env bats
# Fleet rollout with the Ansible content of fleet/: simulated hosts
# (namespaces of their own, their own rpm database, zypper and processes),
# a repository whose packages and metadata are signed, containers signed
# and enforced, rollouts in waves, verified per process, rolled back.
load fleet

setup_file() {
  fleet_setup_file
}

teardown_file() {
  fleet_teardown_file
}

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  export GNUPGHOME=$BATS_FILE_TMPDIR/gnupg
  REPO=$BATS_FILE_TMPDIR/repo
}

teardown() {
  hosts_down
}

# every_monitor_ran LINE...: every monitor of every host ran these versions
# ("original": the host's own libdemo, v1 on odd hosts, v2 on even ones).
every_monitor_ran() {
  local i j want have
  for i in $(seq "$NHOSTS"); do
    want=$(printf '%s\n' "$@" | sed "s/^original$/original v$(((i - 1) % 2 + 1))/")
    for j in 1 2; do
      have=$(monitor_log "$i" "$j")
      [ "$have" = "$want" ] || fail "host$i monitor $j ran: $(echo $have); expected: $(echo $want)"
    done
  done
}

@test "4 hosts: configured through zypper with signatures enforced, v1 then v2 rolled out in waves, then removed; every process verified" {
  NHOSTS=4
  hosts_up 4
  play configure.yml
  assert_success
  for i in 1 2 3 4; do
    run in_host "$i" zypper -n lr -d
    assert_output --regexp "livepatches .* Yes .* \(r \) Yes"
    run host_file "$i" /etc/ulp/ulp.conf
    assert_output --partial "require_signature = yes"
    # ulp is installed, the livepatch package is not pulled in by it.
    run in_host "$i" rpm -q ulp demo-livepatches
    assert_line --regexp "^ulp-0.2.0-1"
    assert_line "package demo-livepatches is not installed"
  done

  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1
  assert_success
  # The waves: host1 alone, then host2, then host3 and host4 together.
  run grep -o "Install demo-livepatches 1-1\] \*\+$" <<<"$output"
  [ "${#lines[@]}" -eq 3 ]
  every_monitor_ran "original" "livepatch 1"
  for i in 1 2 3 4; do
    [ "$(report_of host$i outcome)" = ok ]
    [ "$(report_of host$i installed)" = 1-1 ]
    [ "$(report_of host$i counts.patched)" = 2 ]
  done
  run cat "$W/report/fleet-report.txt"
  assert_line "host1: ok demo-livepatches 1-1"
  assert_line --regexp "^  monitor \(pid [0-9]+, libdemo-1.0-1.x86_64\): patched \(SUCCESS /usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so\)$"
  assert_line --regexp "^  monitor \(pid [0-9]+, libdemo-1.0-2.x86_64\): patched \(SUCCESS /usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-2_livepatch1.so\)$"

  rollout -e livepatch_package=demo-livepatches -e livepatch_version=2-1
  assert_success
  every_monitor_ran "original" "livepatch 1" "livepatch 2"
  [ "$(report_of host2 before)" = 1-1 ]
  [ "$(report_of host2 installed)" = 2-1 ]

  rollout -e livepatch_package=demo-livepatches -e livepatch_state=absent
  assert_success
  every_monitor_ran "original" "livepatch 1" "livepatch 2" "original"
  for i in 1 2 3 4; do
    run in_host "$i" rpm -q demo-livepatches
    assert_output "package demo-livepatches is not installed"
    run in_host "$i" ulp patches --json
    refute_output --partial '"container"'
  done
}
