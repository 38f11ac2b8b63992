#!/usr/bin/env bats
# Threads blocked in system calls (read, nanosleep, epoll_wait with and
# without timeout, futex, condition variable) live through many triggers
# with no EINTR, no short sleep, no early timeout and no spurious wakeup
# (tests/targets/syscall_target.c reports any of these).
load helpers

# distinct_containers N: packs N containers that all replace demo_message
# with "patched 1" but differ in code (a tag), so each one is a new patch
# (its own id) that the target must load (dlopen through a borrowed thread).
distinct_containers() {
  local i
  for ((i = 1; i <= $1; i++)); do
    gcc -O2 -fPIC -shared -DPATCH_TAG="$i" -o "$W/c$i.so" "$FIXSRC/patch1.c"
    make_dsc patch1 "$W/c$i.so" "$LIB" >"$W/c$i.dsc"
    "$ULP" packer "$W/c$i.dsc" >/dev/null || fail "packer $W/c$i.dsc"
  done
}

status_field() {
  ctl_field "$(ctl sys status)" "$1"
}

@test "blocked system calls survive many triggers: no EINTR, no short sleep" {
  distinct_containers 12
  local ids
  ids=$(for i in $(seq 12); do patch_id "$W/c$i.so"; done | sort -u | wc -l)
  assert_equal "$ids" 12
  start_ctl_target sys syscall_target "$LIB" "$W/sys.ctl" "$W/sys.ack" "$W/report"
  local pid=$LAST r s0 t0 k0 start n=0 i
  r=$(ctl sys status)
  [[ $r == *"msg=original" ]] || fail "status: $r"
  # every waiter works before the triggers
  assert_equal "$(ctl sys wake)" "woken"
  s0=$(status_field sleeps)
  t0=$(status_field timeouts)
  k0=$(status_field ticks)
  start=$SECONDS
  while ((n < 24 || SECONDS - start < 3)); do
    i=$((n % 12 + 1))
    run "$ULP" trigger -p "$pid" "$W/c$i.so"
    [ "$status" -eq 0 ] || fail "trigger $n: $output"
    r=$(ctl sys status)
    [[ $r == *"msg=patched 1" ]] || fail "after apply $n: $r"
    if ((n % 3 == 0)); then
      run "$ULP" trigger -p "$pid" --revert-all=libdemo.so.1
    else
      run "$ULP" trigger -p "$pid" --revert "$W/c$i.so"
    fi
    [ "$status" -eq 0 ] || fail "revert $n: $output"
    r=$(ctl sys status)
    [[ $r == *"msg=original" ]] || fail "after revert $n: $r"
    n=$((n + 1))
    ((n < 1000)) || break
  done
  # the blocked readers, pollers and waiters still work, once each
  assert_equal "$(ctl sys wake)" "woken"
  assert_equal "$(ctl sys wake)" "woken"
  # wait for two more complete 2 s sleeps and 2 s epoll timeouts: at least
  # one of each ran entirely while triggers were happening
  for ((i = 0; i < 100; i++)); do
    r=$(ctl sys status)
    if (($(ctl_field "$r" sleeps) >= s0 + 2 && $(ctl_field "$r" timeouts) >= t0 + 2)); then
      break
    fi
    [ ! -s "$W/report" ] || break
    sleep 0.1
  done
  echo "# $n apply/revert pairs; $r" >&3
  [ ! -s "$W/report" ] || fail "the target reported: $(cat "$W/report")"
  (($(ctl_field "$r" sleeps) >= s0 + 2)) || fail "the 2 s sleeper stopped completing sleeps: $r"
  (($(ctl_field "$r" timeouts) >= t0 + 2)) || fail "the epoll_wait(2000) thread stopped timing out: $r"
  (($(ctl_field "$r" ticks) > k0 + 50)) || fail "the 20 ms ticker stalled: $r"
  assert_equal "$(ctl_field "$r" reads)" 3
  assert_equal "$(ctl_field "$r" polls)" 3
  assert_equal "$(ctl_field "$r" futex)" 3
  assert_equal "$(ctl_field "$r" cond)" 3
  assert_alive "$pid"
}

@test "syscall target self-test: a plain SIGSTOP/SIGCONT is reported" {
  # proves the target notices an interrupted epoll_wait: the runtime is not
  # involved, the kernel itself turns a stop into EINTR for epoll_wait
  NORUNTIME=1 start_ctl_target sys syscall_target "$LIB" "$W/sys.ctl" "$W/sys.ack" "$W/report"
  ctl sys status >/dev/null
  kill -STOP "$LAST"
  sleep 0.05
  kill -CONT "$LAST"
  ctl sys status >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$W/report" ] && break
    sleep 0.02
  done
  run cat "$W/report"
  assert_output --partial "Interrupted system call"
}
