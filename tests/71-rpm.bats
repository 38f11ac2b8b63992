#!/usr/bin/env bats
# Plain rpm -i/-U/-e of livepatch packages: with the plugin (in a --root and
# on the host with a private database), with the %post helper instead, and
# with bad packages and settings.
load rpm

HOSTFS=$PKG/hostfs/usr/lib64

# root_with_library: $R with libdemo 1.0-1 (process "old" running it),
# then 1.0-2 (process "new").
root_with_library() {
  make_root "$R"
  rpm_quiet --root "$R" -i "$PKG"/root/good/{test-base-,ulp-[0-9],libdemo-1.0-1.}*.rpm
  monitor old "$R/usr/lib64"
  old=$LAST
  rpm_quiet --root "$R" -U "$PKG"/root/good/libdemo-1.0-2.*.rpm
  monitor new "$R/usr/lib64"
  new=$LAST
}

# host_with_library: the same on the host, with a private database; the
# packages live under $HOSTFS.
host_with_library() {
  DB=(--dbpath "$W/db")
  rpm_quiet "${DB[@]}" -i "$PKG"/host/good/{test-base-,ulp-[0-9],libdemo-1.0-1.}*.rpm
  monitor old "$HOSTFS"
  old=$LAST
  rpm_quiet "${DB[@]}" -U "$PKG"/host/good/libdemo-1.0-2.*.rpm
  monitor new "$HOSTFS"
  new=$LAST
}

teardown() {
  if [ -n "${DB:-}" ]; then
    rpm_quiet "${DB[@]}" -e --noscripts --noplugins demo-livepatches libdemo ulp test-base 2>/dev/null || true
  fi
  if [ ${#PIDS[@]} -gt 0 ]; then
    { kill -9 "${PIDS[@]}"; wait "${PIDS[@]}"; } 2>/dev/null || true
  fi
}

@test "rpm --root: -i applies, -U replaces in one stop, -e reverts; containers come from the root" {
  root_with_library
  run rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so"
  assert_output --partial "monitor (pid $new, libdemo-1.0-2.x86_64): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-2_livepatch1.so"
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1"
  run rpm_quiet --root "$R" -U "$PKG"/root/good/demo-livepatches-2-*.rpm
  assert_success
  assert_output --partial "demo-livepatches-2-1.x86_64: patched 2, skipped 0, failed 0"
  log_is old "original v1" "livepatch 1" "livepatch 2"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run rpm_quiet --root "$R" -e demo-livepatches
  assert_success
  assert_output --partial "demo-livepatches-2-1.x86_64: reverted 2, skipped 0, failed 0"
  log_is old "original v1" "livepatch 1" "livepatch 2" "original v1"
  log_is new "original v2" "livepatch 1" "livepatch 2" "original v2"
  # The report is kept, each line with its time, for the fleet report.
  local at='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z '
  grep -Eq "${at}demo-livepatches-1-1.x86_64: monitor \(pid $old, libdemo-1.0-1.x86_64\): SUCCESS $R/usr/lib64/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so$" "$W/ulp.log"
  grep -Eq "${at}demo-livepatches-2-1.x86_64: patched 2, skipped 0, failed 0$" "$W/ulp.log"
  grep -Eq "${at}demo-livepatches-2-1.x86_64: reverted 2, skipped 0, failed 0$" "$W/ulp.log"
}

@test "rpm on the host with the plugin: the %post helper steps aside, nothing is applied twice" {
  host_with_library
  run rpm_quiet "${DB[@]}" -i "$PKG"/host/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "monitor (pid $old): SUCCESS $HOSTFS/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so"
  assert_output --partial "ulp_post_hook: demo-livepatches: the rpm plugin applies livepatches in this transaction"
  [ "$(grep -c SUCCESS <<<"$output")" -eq 2 ]
  run rpm_quiet "${DB[@]}" -U "$PKG"/host/good/demo-livepatches-2-*.rpm
  assert_success
  log_is old "original v1" "livepatch 1" "livepatch 2"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run rpm_quiet "${DB[@]}" -e demo-livepatches
  assert_success
  log_is old "original v1" "livepatch 1" "livepatch 2" "original v1"
}

@test "rpm on the host without the plugin: the %post and %postun helper do the work" {
  host_with_library
  run rpm_quiet "${DB[@]}" --noplugins -i "$PKG"/host/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "ulp_post_hook: demo-livepatches: monitor (pid $old): SUCCESS $HOSTFS/ulp/demo-livepatches/1/libdemo_1.0-1_livepatch1.so"
  assert_output --partial "ulp_post_hook: demo-livepatches: monitor (pid $new): SUCCESS $HOSTFS/ulp/demo-livepatches/1/libdemo_1.0-2_livepatch1.so"
  assert_output --partial "ulp_post_hook: demo-livepatches: patched 2, skipped 0, failed 0"
  log_is old "original v1" "livepatch 1"
  run rpm_quiet "${DB[@]}" --noplugins -U "$PKG"/host/good/demo-livepatches-2-*.rpm
  assert_success
  log_is old "original v1" "livepatch 1" "livepatch 2"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run rpm_quiet "${DB[@]}" --noplugins -e demo-livepatches
  assert_success
  assert_output --partial "ulp_post_hook: demo-livepatches: monitor (pid $old): SUCCESS revert-all=libdemo.so.1"
  grep -Eq "Z demo-livepatches: monitor \(pid $old\): SUCCESS revert-all=libdemo.so.1$" "$W/ulp.log"
  log_is old "original v1" "livepatch 1" "livepatch 2" "original v1"
  log_is new "original v2" "livepatch 1" "livepatch 2" "original v2"
}

@test "a tampered container: the package installs, no process is patched, the log says why" {
  root_with_library
  run rpm_quiet --root "$R" -i "$PKG"/root/tampered/demo-livepatches-1-*.rpm
  assert_success
  assert_output --regexp "warning: ulp: demo-livepatches-1-1.x86_64: no process patched: .*libdemo_1.0-[12]_livepatch1.so: .*signature"
  run rpm --root "$R" -q demo-livepatches
  assert_success
  log_is old "original v1"
  log_is new "original v2"
}

@test "an unsigned container where signatures are required: installs, patches nothing, says why" {
  root_with_library
  run rpm_quiet --root "$R" -i "$PKG"/root/unsigned/demo-livepatches-1-*.rpm
  assert_success
  assert_output --regexp "warning: ulp: demo-livepatches-1-1.x86_64: no process patched: .*not signed"
  log_is old "original v1"
}

@test "rpm --test and --justdb leave processes alone" {
  root_with_library
  run rpm_quiet --root "$R" -i --test "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  refute_output --partial "ulp:"
  run rpm_quiet --root "$R" -i --justdb "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  refute_output --partial "SUCCESS"
  log_is old "original v1"
  log_is new "original v2"
}

@test "LIVEPATCH_DEMO=never in the sysconfig file: neither the plugin nor the helper patches" {
  host_with_library
  echo "LIVEPATCH_DEMO='never'" >"$ULP_SYSCONFIG"
  run rpm_quiet "${DB[@]}" -i "$PKG"/host/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "ulp: demo-livepatches-1-1.x86_64: LIVEPATCH_DEMO=never: no process touched"
  run rpm_quiet "${DB[@]}" --noplugins -U "$PKG"/host/good/demo-livepatches-2-*.rpm
  assert_success
  assert_output --partial "ulp_post_hook: demo-livepatches: LIVEPATCH_DEMO=never: no process patched"
  log_is old "original v1"
  echo "LIVEPATCH_DEMO=sometimes" >"$ULP_SYSCONFIG"
  run rpm_quiet "${DB[@]}" -e demo-livepatches
  assert_success
  assert_output --partial "LIVEPATCH_DEMO=sometimes: expected auto or never"
  log_is old "original v1"
}

@test "ulp_post_hook: a build root or a malformed call changes nothing" {
  host_with_library
  run env RPM_BUILD_ROOT=/tmp/x "$BUILD/ulp_post_hook" install demo-livepatches 1 libdemo.so.1 "$W"
  assert_success
  assert_output --partial "inside a build root"
  run "$BUILD/ulp_post_hook" install demo-livepatches
  assert_failure 2
  assert_output --partial "usage"
  run "$BUILD/ulp_post_hook" install demo-livepatches 1 libdemo.so.1 "$W/nothing-here"
  assert_success
  assert_output --partial "no container found"
  log_is old "original v1"
}

@test "a container no process can load: reported per process, the transaction goes through" {
  root_with_library
  run rpm_quiet --root "$R" -i "$PKG"/root/broken/demo-livepatches-3-*.rpm
  assert_success
  assert_output --regexp "warning: ulp: demo-livepatches-3-1.x86_64: monitor \(pid $old, libdemo-1.0-1.x86_64\): FAILED .*libdemo_1.0-1_livepatch3.so: cannot load: symbol no_such_function_anywhere not found in the process"
  assert_output --partial "demo-livepatches-3-1.x86_64: patched 0, skipped 0, failed 2"
  run rpm --root "$R" -q demo-livepatches
  assert_success
  log_is old "original v1"
  log_is new "original v2"
}

@test "a process whose only thread never leaves libc: patched at once, rpm is not held" {
  root_with_library
  LD_LIBRARY_PATH=$R/usr/lib64 "$FIX/in_libc" &
  spinner=$!
  PIDS+=("$spinner")
  wait_for_maps "$spinner" libdemo.so.1
  SECONDS=0
  run rpm_quiet --root "$R" --define "_ulp_plugin_timeout 3" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  # The deadline, not a speed.
  [ "$SECONDS" -le 6 ] || fail "rpm took $SECONDS s"
  assert_output --regexp "in_libc \(pid $spinner, libdemo-1.0-2.x86_64\): SUCCESS .*libdemo_1.0-2_livepatch1.so"
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS"
  kill -0 "$spinner"
  [ "$(awk '{print $3}' "/proc/$spinner/stat")" != T ]
}

@test "an upgrade whose install fails: the old package stays and so do its patches" {
  root_with_library
  rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  log_is old "original v1" "livepatch 1"
  # A directory where v2 puts a container: unpacking fails.
  mkdir -p "$R/usr/lib64/ulp/demo-livepatches/2/libdemo_1.0-1_livepatch2.so/in-the-way"
  run rpm_quiet --root "$R" -U "$PKG"/root/good/demo-livepatches-2-*.rpm
  assert_failure
  refute_output --partial "reverted"
  run rpm --root "$R" -q demo-livepatches
  assert_output "demo-livepatches-1-1.x86_64"
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1"
}

@test "rpm -U --notriggers and --noscripts: the plugin still replaces and reverts" {
  root_with_library
  rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  run rpm_quiet --root "$R" -U --notriggers --noscripts "$PKG"/root/good/demo-livepatches-2-*.rpm
  assert_success
  assert_output --partial "demo-livepatches-2-1.x86_64: patched 2, skipped 0, failed 0"
  log_is old "original v1" "livepatch 1" "livepatch 2"
  run rpm_quiet --root "$R" -e --noscripts demo-livepatches
  assert_success
  assert_output --partial "demo-livepatches-2-1.x86_64: reverted 2, skipped 0, failed 0"
  log_is new "original v2" "livepatch 1" "livepatch 2" "original v2"
}

@test "a process named like a report line: its name is shown defused, the counts hold" {
  root_with_library
  cp "$PKG/monitor" "$W/x): FAILED y"$'\xff'
  LD_LIBRARY_PATH=$R/usr/lib64 "$W/x): FAILED y"$'\xff' "$W/odd.log" &
  odd=$!
  PIDS+=("$odd")
  wait_for_maps "$odd" libdemo.so.1
  wait_for_log odd original
  run rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "x?? FAILED y? (pid $odd, libdemo-1.0-2.x86_64): SUCCESS"
  assert_output --partial "demo-livepatches-1-1.x86_64: patched 3, skipped 0, failed 0"
  log_is odd "original v2" "livepatch 1"
}

@test "rpm --reinstall of the installed livepatch package: its patches stay applied" {
  root_with_library
  rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  run rpm_quiet --root "$R" --reinstall "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "demo-livepatches-1-1.x86_64: patched 2, skipped 0, failed 0"
  refute_output --partial "reverted"
  sleep 0.2
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1"
  run "$ULP" patches -p "$old"
  assert_output --partial "libdemo_1.0-1_livepatch1"
}

# trace NAME PID: a debugger-like tracer holds PID; its pid in $TRACER.
trace() {
  "$PKG/tracer" "$2" >"$W/$1.tracer" &
  TRACER=$!
  PIDS+=("$TRACER")
  for _ in $(seq 100); do
    grep -q tracing "$W/$1.tracer" && return 0
    sleep 0.02
  done
  fail "the tracer did not attach"
}

untrace() {
  kill "$TRACER"
  wait "$TRACER" 2>/dev/null || true
}

@test "an upgrade that fails in one process keeps the old fix there; erase then leaves nothing applied" {
  root_with_library
  rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  log_is old "original v1" "livepatch 1"
  trace old "$old"
  run rpm_quiet --root "$R" -U "$PKG"/root/good/demo-livepatches-2-*.rpm
  assert_success
  assert_output --regexp "warning: ulp: demo-livepatches-2-1.x86_64: monitor \(pid $old, libdemo-1.0-1.x86_64\): FAILED .*libdemo_1.0-1_livepatch2.so"
  assert_output --partial "monitor (pid $new, libdemo-1.0-2.x86_64): SUCCESS"
  assert_output --partial "demo-livepatches-2-1.x86_64: patched 1, skipped 0, failed 1"
  refute_output --partial "revert"
  untrace
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run "$ULP" patches -p "$old"
  assert_output --partial "libdemo_1.0-1_livepatch1"
  # Erasing reverts everything on the library, v1's fix included.
  run rpm_quiet --root "$R" -e demo-livepatches
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS revert-all=libdemo.so.1"
  assert_output --partial "demo-livepatches-2-1.x86_64: reverted 2, skipped 0, failed 0"
  log_is old "original v1" "livepatch 1" "original v1"
  log_is new "original v2" "livepatch 1" "livepatch 2" "original v2"
}

@test "the %post helper follows the same rule: failed upgrade keeps the old fix, erase leaves nothing" {
  host_with_library
  rpm_quiet "${DB[@]}" --noplugins -i "$PKG"/host/good/demo-livepatches-1-*.rpm
  log_is old "original v1" "livepatch 1"
  trace old "$old"
  run rpm_quiet "${DB[@]}" --noplugins -U "$PKG"/host/good/demo-livepatches-2-*.rpm
  assert_success
  assert_output --regexp "ulp_post_hook: warning: demo-livepatches: monitor \(pid $old\): FAILED .*libdemo_1.0-1_livepatch2.so"
  refute_output --partial "revert"
  untrace
  log_is old "original v1" "livepatch 1"
  log_is new "original v2" "livepatch 1" "livepatch 2"
  run rpm_quiet "${DB[@]}" --noplugins -e demo-livepatches
  assert_success
  assert_output --partial "ulp_post_hook: demo-livepatches: monitor (pid $old): SUCCESS revert-all=libdemo.so.1"
  log_is old "original v1" "livepatch 1" "original v1"
}

@test "rpm --root without the admin's opt-in patches no running process, and says so" {
  root_with_library
  run rpm_quiet --root "$R" --define "_ulp_patch_from_root 0" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "ulp: --root $R: no running process patched"
  assert_output --partial "%_ulp_patch_from_root"
  refute_output --partial "SUCCESS"
  run rpm --root "$R" -q demo-livepatches
  assert_success
  log_is old "original v1"
  log_is new "original v2"
}

@test "the plugin runs the helper as a program of its own, and survives a missing one" {
  root_with_library
  printf '#!/bin/sh\necho "$PPID $*" >"%s"\nexec "%s" "$@"\n' "$W/helper.args" "$BUILD/ulp_post_hook" >"$W/wrap"
  chmod +x "$W/wrap"
  run rpm_quiet --root "$R" --define "_ulp_helper $W/wrap" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "monitor (pid $old, libdemo-1.0-1.x86_64): SUCCESS"
  run cat "$W/helper.args"
  assert_output --regexp "^[0-9]+ transaction [0-9.]+ $R/usr/share/ulp/catalog .* install demo-livepatches-1-1.x86_64 demo-livepatches libdemo.so.1 2 "
  [ "$(cat "/proc/$(cut -d' ' -f1 "$W/helper.args")/comm" 2>/dev/null)" != ulp_post_hook ]
  run rpm_quiet --root "$R" --define "_ulp_helper $W/no-such-helper" -e demo-livepatches
  assert_success
  assert_output --partial "ulp: cannot run $W/no-such-helper: No such file or directory; no livepatch applied"
  run rpm --root "$R" -q demo-livepatches
  assert_failure
}

@test "make rpm: the project's own ulp package satisfies a livepatch package's Requires, old and new" {
  run make -s -C "$ROOT" rpm B="$W/b"
  assert_success
  assert_output --partial "building with --nodeps"
  run ls "$W/b/rpm"
  assert_output --regexp "^ulp-[0-9.]+-1.x86_64.rpm$"
  make_root "$R"
  run rpm_quiet --root "$R" -i "$PKG"/root/good/{test-base-,libdemo-1.0-1.}*.rpm "$W/b/rpm"/ulp-[0-9]*.rpm \
    "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  run rpm --root "$R" -qR demo-livepatches
  assert_line "ulp"
  refute_output --partial "ulp-runtime"
  # Livepatch packages built with ulp 0.1's macros require ulp-runtime; the
  # ulp package replaces it.
  run rpm --root "$R" -q --whatprovides ulp-runtime
  assert_output --regexp "^ulp-[0-9]"
  run rpm -qp --obsoletes "$W/b/rpm"/ulp-[0-9]*.rpm
  assert_output --regexp "^ulp-runtime < "
  run rpm -qlp "$W/b/rpm"/ulp-[0-9]*.rpm
  assert_output --partial "/libpulp.so.0"
  assert_output --partial "/ulp.so"
  assert_output --partial "/ulp_post_hook"
  assert_output --partial "/macros.ulp"
}

@test "a build the new package has no container for: earlier patches reverted there, and reported" {
  host_with_library
  rpm_quiet "${DB[@]}" --noplugins -i "$PKG"/host/good/demo-livepatches-1-*.rpm
  log_is old "original v1" "livepatch 1"
  rpm_quiet "${DB[@]}" --noplugins --noscripts -U "$PKG"/host/good/demo-livepatches-2-*.rpm
  mkdir "$W/only-v2"
  cp "$HOSTFS"/ulp/demo-livepatches/2/libdemo_1.0-2_livepatch2.so "$W/only-v2/"
  run "$BUILD/ulp_post_hook" install demo-livepatches 2 libdemo.so.1 "$W/only-v2"
  assert_success
  assert_output --partial "monitor (pid $old): SUCCESS revert-all=libdemo.so.1: no container for the library build it runs: earlier patches reverted"
  assert_output --partial "monitor (pid $new): SUCCESS $W/only-v2/libdemo_1.0-2_livepatch2.so"
  log_is old "original v1" "livepatch 1" "original v1"
  log_is new "original v2" "livepatch 1" "livepatch 2"
}

@test "a package that matches no running process says so" {
  make_root "$R"
  rpm_quiet --root "$R" -i "$PKG"/root/good/{test-base-,ulp-[0-9],libdemo-1.0-1.}*.rpm
  run rpm_quiet --root "$R" -i "$PKG"/root/good/demo-livepatches-1-*.rpm
  assert_success
  assert_output --partial "ulp: demo-livepatches-1-1.x86_64: no running process maps a build this package covers"
  assert_output --partial "demo-livepatches-1-1.x86_64: patched 0, skipped 0, failed 0"
}
