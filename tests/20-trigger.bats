#!/usr/bin/env bats
# ulp trigger, check and patches against real processes.
load helpers

@test "apply changes the running code; revert restores it" {
  patch_a
  start_loop "$FIX/v1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  assert_line "demo_loop (pid $LAST): SUCCESS $W/a.so"
  assert_line "summary: 1 succeeded, 0 skipped, 0 failed"
  wait_for_output out "patch A"
  run "$ULP" trigger --revert -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "original v1"
}

@test "a non-exported function is patched" {
  make_patch h patch_hidden.so "$FIX/v1" demo_hidden:demo_hidden_fixed
  start_loop "$FIX/v1"
  wait_for_output out "original v1 4"
  "$ULP" trigger -p "$LAST" "$W/h.so"
  wait_for_output out "original v1 2002"
}

@test "functions without endbr64 are patched too" {
  make_patch v2 patch_v2.so "$FIX/v2" demo_message:demo_message_v2fix
  start_loop "$FIX/v2"
  "$ULP" trigger -p "$LAST" "$W/v2.so"
  wait_for_output out "patch for v2"
}

@test "check: 0 when applied, 1 when not, 2 on errors" {
  patch_a
  start_loop "$FIX/v1"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_failure 1
  assert_output "not applied"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
  assert_output "applied"
  run "$ULP" check -p 999999999 "$W/a.so"
  assert_failure 2
  run "$ULP" check -p "$LAST" "$W/nothing.so"
  assert_failure 2
}

@test "patches stack; reverting any re-points to the newest still active" {
  patch_a
  patch_b
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  wait_for_output out "patch A"
  "$ULP" trigger -q -p "$LAST" "$W/b.so"
  wait_for_output out "patch B"
  "$ULP" trigger -q --revert -p "$LAST" "$W/b.so"
  wait_for_output out "patch A"
  "$ULP" trigger -q -p "$LAST" "$W/b.so"
  wait_for_output out "patch B"
  "$ULP" trigger -q --revert -p "$LAST" "$W/a.so"
  sleep 0.1
  wait_for_output out "patch B"
  "$ULP" trigger -q --revert -p "$LAST" "$W/b.so"
  wait_for_output out "original v1"
}

@test "revert-all=LIB removes every patch on the library" {
  patch_a
  patch_b
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so" "$W/b.so"
  wait_for_output out "patch B"
  run "$ULP" trigger -p "$LAST" --revert-all=libdemo.so.1
  assert_success
  assert_line "demo_loop (pid $LAST): SUCCESS revert-all=libdemo.so.1"
  wait_for_output out "original v1"
  run "$ULP" patches -p "$LAST" --json
  assert_output --partial '"patches":[]'
}

@test "revert-all=target with a patch replaces earlier patches in one stop" {
  patch_a
  patch_b
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  wait_for_output out "patch A"
  run "$ULP" trigger -p "$LAST" --revert-all=target "$W/b.so"
  assert_success
  wait_for_output out "patch B"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_failure 1
  run "$ULP" check -p "$LAST" "$W/b.so"
  assert_success
}

@test "revert-all=target with a patch already applied leaves exactly that patch" {
  patch_a
  patch_b
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/b.so" "$W/a.so"
  wait_for_output out "patch A"
  run "$ULP" trigger -p "$LAST" --revert-all=target "$W/a.so"
  assert_success
  assert_line "demo_loop (pid $LAST): SUCCESS $W/a.so"
  run "$ULP" check -p "$LAST" "$W/b.so"
  assert_failure 1
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
  "$ULP" trigger -q -p "$LAST" --revert "$W/a.so"
  wait_for_output out "original v1"
}

@test "revert-all + a patch that cannot load keeps the earlier patches" {
  patch_a
  make_patch bad patch_unloadable.so "$FIX/v1" demo_message:demo_message_unloadable
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  wait_for_output out "patch A"
  run "$ULP" trigger -p "$LAST" --revert-all=target "$W/bad.so"
  assert_failure 1
  assert_output --partial "FAILED $W/bad.so: cannot load"
  assert_output --partial "no_such_symbol_anywhere"
  run "$ULP" check -p "$LAST" "$W/a.so"
  assert_success
  sleep 0.1
  wait_for_output out "patch A"
  # and the process still takes a good patch afterwards
  patch_b
  "$ULP" trigger -q -p "$LAST" --revert-all=target "$W/b.so"
  wait_for_output out "patch B"
}

@test "without -p: every process with the library, with or without the runtime, matched by build-ID" {
  patch_a
  make_patch v2 patch_v2.so "$FIX/v2" demo_message:demo_message_v2fix
  start_loop "$FIX/v1" one
  one=$LAST
  start_loop "$FIX/v2" two
  two=$LAST
  NORUNTIME=1 start_loop "$FIX/v1" bare
  bare=$LAST
  run "$ULP" trigger "$W/a.so" "$W/v2.so"
  assert_success
  assert_line "demo_loop (pid $one): SUCCESS $W/a.so"
  assert_line "demo_loop (pid $one): SKIPPED $W/v2.so: build-ID mismatch"
  assert_line "demo_loop (pid $two): SUCCESS $W/v2.so"
  assert_line "demo_loop (pid $two): SKIPPED $W/a.so: build-ID mismatch"
  assert_line "demo_loop (pid $bare): SUCCESS $W/a.so"
  wait_for_output one "patch A"
  wait_for_output two "patch for v2"
  wait_for_output bare "patch A"
}

@test "a quoted wildcard PATCH reaches each process with its own build's container" {
  mkdir "$W/pkg"
  make_patch a patch_a.so "$FIX/v1" demo_message:demo_message_a
  make_patch v2 patch_v2.so "$FIX/v2" demo_message:demo_message_v2fix
  mv "$W/a.so" "$W/v2.so" "$W/pkg/"
  start_loop "$FIX/v1" one
  one=$LAST
  start_loop "$FIX/v2" two
  two=$LAST
  run "$ULP" trigger "$W/pkg/*.so"
  assert_success
  # Other processes on the host may map a libdemo too: look at ours only.
  assert_line "demo_loop (pid $one): SUCCESS $W/pkg/a.so"
  assert_line "demo_loop (pid $one): SKIPPED $W/pkg/v2.so: build-ID mismatch"
  assert_line "demo_loop (pid $two): SUCCESS $W/pkg/v2.so"
  assert_line "demo_loop (pid $two): SKIPPED $W/pkg/a.so: build-ID mismatch"
  wait_for_output one "patch A"
  wait_for_output two "patch for v2"
  run "$ULP" trigger "$W/pkg/nothing*.so"
  assert_failure 2
  assert_output --partial "no container matches"
}

@test "-p by name and by wildcard" {
  patch_a
  start_loop "$FIX/v1"
  run "$ULP" trigger -p demo_loop "$W/a.so"
  assert_success
  assert_output --partial "(pid $LAST): SUCCESS"
  run "$ULP" trigger --revert -p 'demo_l*' "$W/a.so"
  assert_success
  assert_output --partial "(pid $LAST): SUCCESS"
  run "$ULP" trigger -p 'no_such_program*' "$W/a.so"
  assert_failure 1
  assert_output --partial "no process matches"
}

@test "single PID: every reason not to apply is an error" {
  patch_a
  run "$ULP" trigger -p 999999999 "$W/a.so"
  assert_failure 1
  assert_output --partial "FAILED $W/a.so: no such process"
  start_loop "$FIX/v2" other
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_failure 1
  assert_output --partial "build-ID mismatch"
  LD_PRELOAD=$RUNTIME sleep 60 &
  PIDS+=($!)
  sleep 0.2
  run "$ULP" trigger -p "$!" "$W/a.so"
  assert_failure 1
  assert_output --partial "library libdemo.so.1 not mapped"
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_failure 1
  assert_output --partial "already applied"
  run "$ULP" trigger --revert -p "$LAST" "$W/a.so"
  assert_success
  run "$ULP" trigger --revert -p "$LAST" "$W/a.so"
  assert_failure 1
  assert_output --partial "not applied"
}

@test "patches: text and stable JSON" {
  patch_a
  start_loop "$FIX/v1"
  "$ULP" trigger -q -p "$LAST" "$W/a.so"
  run "$ULP" patches -p "$LAST"
  assert_success
  assert_line "demo_loop (pid $LAST):"
  assert_output --partial "$FIX/v1/libdemo.so.1 (build-ID "
  assert_output --regexp "$W/a.so \(target libdemo.so.1, id [0-9a-f]{32}, applied [0-9T:-]+Z\)"
  "$ULP" patches --json >"$W/p.json"
  python3 - "$W/p.json" "$LAST" "$W/a.so" "$(readelf -n "$FIX/v1/libdemo.so.1" | sed -n 's/.*Build ID: //p')" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["version"] == 1
proc = [p for p in doc["processes"] if p["pid"] == int(sys.argv[2])][0]
assert proc["name"] == "demo_loop"
libs = [l for l in proc["libraries"] if l["path"].endswith("/v1/libdemo.so.1")]
assert libs and libs[0]["build_id"] == sys.argv[4], libs
(patch,) = proc["patches"]
assert patch["container"] == sys.argv[3] and patch["target"] == "libdemo.so.1"
assert patch["functions"] == 1 and len(patch["id"]) == 32 and patch["applied_at"].endswith("Z")
PY
}

@test "-q prints only failures" {
  patch_a
  start_loop "$FIX/v1"
  run "$ULP" trigger -q -p "$LAST" "$W/a.so"
  assert_success
  assert_output ""
}

@test "the library file replaced and deleted on disk: matching uses the mapped copy" {
  mkdir "$W/lib"
  cp "$FIX/v1/libdemo.so.1" "$W/lib/libdemo.so.1"
  make_patch a patch_a.so "$W/lib" demo_message:demo_message_a
  start_loop "$W/lib"
  cp "$FIX/v2/libdemo.so.1" "$W/lib/libdemo.so.1.new"
  mv "$W/lib/libdemo.so.1.new" "$W/lib/libdemo.so.1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
  "$ULP" trigger -q --revert -p "$LAST" "$W/a.so"
  rm "$W/lib/libdemo.so.1"
  run "$ULP" trigger -p "$LAST" "$W/a.so"
  assert_success
  wait_for_output out "patch A"
}

@test "the original function never runs again after a patch" {
  patch_a
  start stress "$FIX/v1" 2 "original v1" "patch A"
  stress=$LAST
  "$ULP" trigger -q -p "$stress" "$W/a.so"
  # Any call still in the original from before the stop has finished by now.
  sleep 0.2
  before=$(gdb -q -batch -p "$stress" -ex 'print (long)demo_original_count()' 2>/dev/null | sed -n 's/^\$1 = //p')
  sleep 0.5
  after=$(gdb -q -batch -p "$stress" -ex 'print (long)demo_original_count()' 2>/dev/null | sed -n 's/^\$1 = //p')
  [ -n "$before" ]
  assert_equal "$before" "$after"
}
