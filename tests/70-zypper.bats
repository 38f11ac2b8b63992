#!/usr/bin/env bats
# Installing, upgrading and removing a livepatch package with zypper from a
# local createrepo_c repository patches and unpatches running processes.
load rpm

zyp() {
  zypper --root "$R" --non-interactive --no-gpg-checks "$@"
}

setup_zypper_root() {
  make_root "$R"
  zyp addrepo "file://$PKG/repo" demo >/dev/null
}

@test "zypper in, up and rm: every process gets its build's patch, v1 is replaced by v2 in one stop, rm reverts" {
  setup_zypper_root
  run zyp install --no-recommends test-base ulp libdemo-1.0-1
  assert_success
  # Started as ulp 0.1 needed, with the former runtime preloaded: it still
  # starts and is patched like the others.
  PRELOAD=$R/usr/lib64/libpulp.so.0 monitor old "$R/usr/lib64"
  old=$LAST
  # An upgrade of the library: the running process keeps the old build.
  run zyp install --no-recommends libdemo-1.0-2
  assert_success
  monitor new "$R/usr/lib64"
  new=$LAST
  monitor bare "$R/usr/lib64"
  bare=$LAST
  sleep 600 &
  other=$!
  PIDS+=("$other")

  run zyp install demo-livepatches-1
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so"
  assert_output --partial "monitor (pid $new, libdemo-1.0-2.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-2_livepatch1.so"
  assert_output --partial "monitor (pid $bare, libdemo-1.0-2.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-2_livepatch1.so"
  assert_output --partial "demo-livepatches-1-1.x86_64: patched 3, skipped 0, failed 0"
  refute_output --partial "pid $other"
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1"

  run zyp update
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/2/libdemo_1.0-1_livepatch2.so"
  assert_output --partial "monitor (pid $new, libdemo-1.0-2.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/2/libdemo_1.0-2_livepatch2.so"
  log_is old "original v1" "livepatch 1" "livepatch 2"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run "$ULP" patches -p "$old"
  assert_output --partial "libdemo_1.0-1_livepatch2"
  refute_output --partial "livepatch1"

  run zyp remove demo-livepatches
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS revert-all=libdemo.so.1"
  assert_output --partial "demo-livepatches-2-1.x86_64: reverted 3"
  log_is old "original v1" "livepatch 1" "livepatch 2" "original v1"
  log_is new "original v2" "livepatch 1" "livepatch 2" "original v2"
  log_is bare "original v2" "livepatch 1" "livepatch 2" "original v2"
}

@test "zypper pulls the livepatch package in only where the library and ulp are installed" {
  setup_zypper_root
  run zyp install test-base libdemo-1.0-2
  assert_success
  run rpm --root "$R" -q demo-livepatches
  assert_failure
  run zyp install ulp
  assert_success
  run rpm --root "$R" -q demo-livepatches
  assert_success
  assert_output "demo-livepatches-2-1.x86_64"
}
