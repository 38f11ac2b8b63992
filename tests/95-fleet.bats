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
  fleet_skip_unless_possible
  W=$BATS_TEST_TMPDIR
  PIDS=()
  export GNUPGHOME=$BATS_FILE_TMPDIR/gnupg
  # A copy per test: some tests spoil it.
  REPO=$W/repo
  cp -a "$BATS_FILE_TMPDIR/repo" "$REPO"
}

teardown() {
  hosts_down
  jail_down
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
  configured_hosts 4
  for i in 1 2 3 4; do
    run in_host "$i" zypper -n lr -d
    # Both checks: the metadata's signature and each package's.
    assert_output --regexp "livepatches .* Yes .* \(rp\) Yes"
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
    [ "$(report_of host$i counts.reverted)" = 2 ]
  done
}

# nothing_installed_beyond I...: on these hosts the livepatch package is not
# installed and both monitors still run their library's own code.
untouched() {
  local i j
  for i in "$@"; do
    run in_host "$i" rpm -q demo-livepatches
    assert_output "package demo-livepatches is not installed"
    for j in 1 2; do
      [ "$(monitor_log "$i" "$j")" = "original v$(((i - 1) % 2 + 1))" ] ||
        fail "host$i monitor $j ran: $(monitor_log "$i" "$j" | tr '\n' ' ')"
    done
  done
}

@test "a package tampered with after the vendor signed it: publish-repo refuses it; served anyway, every host refuses it and no process is touched" {
  cp "$BATS_FILE_TMPDIR"/signed/demo-livepatches-1-1.x86_64.rpm "$W/bad.rpm"
  # One byte of the payload changed, the vendor's signature left in place.
  local size
  size=$(stat -c %s "$W/bad.rpm")
  printf '\x55' | dd of="$W/bad.rpm" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
  run "$FLEET/bin/publish-repo" repo@fleet.test "$GNUPGHOME/packages.asc" "$REPO" "$W/bad.rpm"
  assert_failure
  assert_output --partial "bad.rpm: not signed with the vendor's key"
  # A repository whose owner published it all the same: metadata signed.
  cp "$W/bad.rpm" "$REPO/demo-livepatches-1-1.x86_64.rpm"
  rm -rf "$REPO"/repodata*
  createrepo_c -q "$REPO"
  gpg --batch --local-user repo@fleet.test --armor --detach-sign "$REPO/repodata/repomd.xml"
  configured_hosts 4
  # All hosts in one wave, so that each tries (a wave that fails whole
  # ends a rollout whatever the policy).
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1 \
    -e '{"livepatch_waves": ["100%"]}'
  assert_failure
  for i in 1 2 3 4; do
    [ "$(report_of host$i outcome)" = failed ]
    run report_of host$i reason
    assert_output --regexp "^Install demo-livepatches 1-1: .*(digest|[Ss]ignature)"
  done
  untouched 1 2 3 4
}

@test "metadata not signed by the repository key, then a package not signed by the vendor under signed metadata: the canary refuses each, the rollout halts, nothing is installed anywhere" {
  configured_hosts 4
  # Someone with write access to the server, not the key, adds a package.
  cp "$PKG"/root/good/demo-livepatches-1-1.x86_64.rpm "$REPO/"
  rm -rf "$REPO"/repodata*
  createrepo_c -q "$REPO"
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1
  assert_failure
  [ "$(report_of host1 outcome)" = failed ]
  run report_of host1 reason
  assert_output --partial "Signature verification failed for repomd.xml"
  for i in 2 3 4; do
    [ "$(report_of host$i outcome)" = "not reached" ]
  done
  untouched 1 2 3 4
  # The repository key signs that metadata (publish-repo would refuse the
  # package): each package's own signature is still demanded.
  gpg --batch --local-user repo@fleet.test --armor --detach-sign "$REPO/repodata/repomd.xml"
  run "$FLEET/bin/publish-repo" repo@fleet.test "$GNUPGHOME/packages.asc" "$REPO" "$BATS_FILE_TMPDIR"/signed/ulp-*.rpm
  assert_failure
  assert_output --partial "$REPO/demo-livepatches-1-1.x86_64.rpm: not signed with the vendor's key"
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1
  assert_failure
  [ "$(report_of host1 outcome)" = failed ]
  run report_of host1 reason
  assert_output --regexp "^Install demo-livepatches 1-1: .*(not signed|[Ss]ignature)"
  refute_output --partial "repomd.xml"
  for i in 2 3 4; do
    [ "$(report_of host$i outcome)" = "not reached" ]
  done
  untouched 1 2 3 4
}

@test "a canary whose verification fails: rolled back, the later waves untouched, the report names the process and why" {
  export FLEET_TRACED_HOST=1
  configured_hosts 4
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1
  assert_failure
  [ "$(report_of host1 outcome)" = failed ]
  [ "$(report_of host1 rolled_back)" = True ]
  [ "$(report_of host1 rollback_verified)" = True ]
  run report_of host1 reason
  assert_output --regexp "monitor \(pid [0-9]+\) runs libdemo.so.1 build [0-9a-f]+, which /usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so covers, without its patch: FAILED .*: traced by tracer \\(pid [0-9]+\\)$"
  run cat "$W/report/fleet-report.txt"
  assert_line "host1: failed demo-livepatches (not installed), rolled back to nothing installed"
  assert_line --regexp "^  monitor \(pid [0-9]+, libdemo-1.0-1.x86_64\): not patched \(FAILED .*: traced by tracer \(pid [0-9]+\)\)$"
  assert_line --regexp "^  monitor \(pid [0-9]+, libdemo-1.0-1.x86_64\): patched \(SUCCESS .*\)$"
  for i in 2 3 4; do
    assert_line "host$i: not reached"
  done
  # The canary's other monitor got the patch, then lost it in the rollback.
  [ "$(monitor_log 1 2 | tr '\n' ' ')" = "original v1 livepatch 1 original v1 " ]
  [ "$(monitor_log 1 1)" = "original v1" ]
  untouched 2 3 4
}

@test "an unreachable host is reported; the policy decides whether the rest go on; a process that opted out is reported skipped, not failed" {
  export FLEET_OPTED_OUT_HOST=3
  configured_hosts 4
  "$FLEET/sim/hosts.sh" stop "$HOSTS" 2
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1
  assert_failure
  [ "$(report_of host1 outcome)" = ok ]
  [ "$(report_of host2 outcome)" = unreachable ]
  [ "$(report_of host3 outcome)" = "not reached" ]
  [ "$(report_of host4 outcome)" = "not reached" ]
  untouched 3 4
  # Waves of two hosts, half of a wave may fail: the rest go on without it.
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1 \
    -e '{"livepatch_waves": [2, "100%"]}' -e livepatch_max_fail_percentage=50
  assert_failure
  [ "$(report_of host2 outcome)" = unreachable ]
  for i in 1 3 4; do
    [ "$(report_of host$i outcome)" = ok ]
  done
  [ "$(report_of host1 counts.patched)" = 2 ]
  [ "$(report_of host4 counts.patched)" = 2 ]
  [ "$(report_of host3 counts.patched)" = 1 ]
  [ "$(report_of host3 counts.skipped)" = 1 ]
  run cat "$W/report/fleet-report.txt"
  assert_line --regexp "^  monitor \(pid [0-9]+, libdemo-1.0-1.x86_64\): skipped \(SKIPPED .*it opted out \(LIBPULP_DISABLE_ON_USERS: root\)\)$"
  [ "$(monitor_log 3 2)" = "original v1" ]
}

@test "a probe that fails on the canary: downgraded back to the version it had, verified, the later waves untouched" {
  configured_hosts 2
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=1-1 \
    -e "livepatch_probe='grep -q \"livepatch 1\" /var/log/monitor-1.log'"
  assert_success
  rollout -e livepatch_package=demo-livepatches -e livepatch_version=2-1 \
    -e "livepatch_probe='echo probe says no >&2; exit 3'"
  assert_failure
  [ "$(report_of host1 outcome)" = failed ]
  [ "$(report_of host1 before)" = 1-1 ]
  [ "$(report_of host1 installed)" = 1-1 ]
  [ "$(report_of host1 rolled_back)" = True ]
  [ "$(report_of host1 rollback_verified)" = True ]
  [ "$(report_of host1 counts.patched)" = 2 ]
  run report_of host1 reason
  assert_output --regexp "^Probe: .* / probe says no$"
  [ "$(report_of host2 outcome)" = "not reached" ]
  run cat "$W/report/fleet-report.txt"
  assert_line "host1: failed demo-livepatches 1-1, rolled back to 1-1"
  # The canary ran v2 for a moment, then v1 again; host2 stayed on v1.
  [ "$(monitor_log 1 1 | tr '\n' ' ')" = "original v1 livepatch 1 livepatch 2 livepatch 1 " ]
  [ "$(monitor_log 2 1 | tr '\n' ' ')" = "original v2 livepatch 1 " ]
  run in_host 2 rpm -q demo-livepatches
  assert_output "demo-livepatches-1-1.x86_64"
}

# jail_up [mounted]: a chroot like fresh-machine.sh's, whose root is a plain
# directory of a tmpfs, not a mount point (with "mounted": a mount point);
# the system in it is the machine's, bound read-only, and fleet/sim is
# copied to /sim.  Its /dev is a tmpfs with a few nodes, not the machine's:
# whatever removes the test's directory while the jail is still mounted
# can remove nothing of the machine.
jail_up() {
  JAIL_TOP=$W/jail-top
  JAIL=$JAIL_TOP/jail
  mkdir -p "$JAIL_TOP"
  mount -t tmpfs jail "$JAIL_TOP"
  mkdir -p "$JAIL"
  [ "${1:-}" != mounted ] || mount -t tmpfs jail-root "$JAIL"
  mkdir -p "$JAIL"/{usr,etc,var,root,proc,dev,run,tmp,hosts}
  for d in usr etc var root; do
    mount --bind -o ro "/$d" "$JAIL/$d"
  done
  for d in bin sbin lib lib64; do
    [ ! -L "/$d" ] || ln -s "$(readlink "/$d")" "$JAIL/$d"
  done
  mount -t proc proc "$JAIL/proc"
  mount -t tmpfs -o mode=755 jail-dev "$JAIL/dev"
  mknod -m 666 "$JAIL/dev/null" c 1 3
  mknod -m 666 "$JAIL/dev/zero" c 1 5
  mknod -m 666 "$JAIL/dev/urandom" c 1 9
  ln -s /proc/self/fd "$JAIL/dev/fd"
  cp -a "$FLEET/sim" "$JAIL/sim"
  echo "the chroot's own file" >"$JAIL/marker"
}

# jail_down: stops the jail's hosts and detaches the whole jail at once,
# before Bats removes the test's directory.
jail_down() {
  [ -n "${JAIL_TOP:-}" ] || return 0
  local rc=0
  [ ! -x "$JAIL/sim/hosts.sh" ] || chroot "$JAIL" /sim/hosts.sh down /hosts || rc=1
  umount -l "$JAIL_TOP"
  JAIL_TOP=
  return $rc
}

# jail_hosts_checked: two hosts started inside the jail; Ansible's
# connection lands in the jail, with the host's name, its own /usr and
# /proc, and the machine's mounts stay as they were.
jail_hosts_checked() {
  local pid machine_mounts
  machine_mounts=$(cat /proc/self/mountinfo)
  run chroot "$JAIL" /sim/hosts.sh up /hosts 2
  assert_success
  for i in 1 2; do
    pid=$(cat "$JAIL/hosts/host$i/pid")
    run nsenter --mount --uts --pid --target "$pid" sh -c 'cat /marker; hostname; mountpoint /'
    assert_success
    assert_output "the chroot's own file
host$i
/ is a mountpoint"
    run nsenter --mount --pid --target "$pid" sh -c 'stat -f -c %T /usr; ps -e -o pid= | sort -n | head -n 1'
    assert_output --regexp "^overlayfs"$'\n'" *1$"
  done
  [ "$(cat /proc/self/mountinfo)" = "$machine_mounts" ]
  run chroot "$JAIL" /sim/hosts.sh down /hosts
  assert_success
  for i in 1 2; do
    ! kill -0 "$(cat "$JAIL/hosts/host$i/pid")" 2>/dev/null
  done
  [ "$(cat /proc/self/mountinfo)" = "$machine_mounts" ]
}

@test "inside a chroot, its root a mount point or not, a host's root is the chroot: nsenter lands in it, and its mounts stay in the host" {
  jail_up
  run chroot "$JAIL" mountpoint /
  assert_output "/ is not a mountpoint"
  jail_hosts_checked
  jail_down
  jail_up mounted
  run chroot "$JAIL" mountpoint /
  assert_output "/ is a mountpoint"
  jail_hosts_checked
}
