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

# --- Timed calls resume with the time they had left ---------------------------
# A stop makes some calls fail with EINTR, whatever the program's signal
# handlers: timed waits, and socket calls on sockets with SO_RCVTIMEO or
# SO_SNDTIMEO.  ulp makes them again with what was left of their timeout:
# the waits with a shorter timeout of their own, the socket calls through
# a poll of the time left, since the timeout belongs to the socket
# (libpulp/lib/resume.h).
# tests/targets/timed_target.c makes one timed call at a time in its main
# thread (the one ulp borrows for a patch's system calls) and in a worker,
# and says how each ended and how long it took.  It runs on a private
# libdemo.so.1, so that no trigger of another test stops it.  The bounds
# are wide: correctness, not precision.

# start_timed: a timed_target (ctl name tt, pid $TPID) and $W/p1.so, a
# patch of its library.
start_timed() {
  local lib
  need_fixtures timed_target || fail "cannot build timed_target"
  lib=$(unique_lib) || fail "cannot build a private libdemo.so.1"
  pack p1 patch1 "$lib"
  start_ctl_target tt timed_target "$lib" "$W/tt.ctl" "$W/tt.ack"
  TPID=$LAST
  assert_equal "$(ctl tt demo)" "original"
  FLIPS=0
}

# flip N: trigger N of a test (a stop of the whole target): applies p1 when
# N is even, reverts it when N is odd.
flip() {
  local args=("$W/p1.so")
  (($1 % 2 == 0)) || args=(--revert "$W/p1.so")
  run "$ULP" trigger -p "$TPID" "${args[@]}"
  [ "$status" -eq 0 ] || fail "trigger $1: $output"
}

# holds EXPRESSION MESSAGE: fails with MESSAGE unless the awk EXPRESSION holds
holds() {
  awk "BEGIN { exit !($1) }" || fail "$2"
}

# since T0: seconds from T0 (an $EPOCHREALTIME) to now
since() {
  awk -v t0="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f", now - t0 }'
}

# flips_at T0 SECONDS...: the next flips, at these times after T0; when
# each began and ended go to FLIP_START and FLIP_END.
flips_at() {
  local t0=$1 at
  shift
  FLIP_START=()
  FLIP_END=()
  for at in "$@"; do
    sleep "$(awk -v t0="$t0" -v at="$at" -v now="$EPOCHREALTIME" \
      'BEGIN { d = t0 + at - now; printf "%.3f", (d > 0 ? d : 0) }')"
    FLIP_START+=("$(since "$t0")")
    flip $FLIPS
    FLIP_END+=("$(since "$t0")")
    FLIPS=$((FLIPS + 1))
  done
}

# check_timed WHO SECONDS EXPECTED: WHO's call, of SECONDS, ended as
# EXPECTED ("rc=R errno=E"), not early, within 0.8 s of its timeout; and a
# trigger that began 0.8 s or more into the call stopped it before it
# ended, so that with its full timeout again it would have taken longer.
check_timed() {
  local r took i latest=0
  r=$(ctl tt "result $1")
  [[ $r == "$3 took="* ]] || fail "$1: '$r', expected '$3'"
  took=${r##*took=}
  for i in "${!FLIP_END[@]}"; do
    if awk "BEGIN { exit !(${FLIP_END[i]} < $took) }"; then
      latest=${FLIP_START[i]}
    fi
  done
  echo "# $1: $r (triggers at ${FLIP_START[*]} s)" >&3
  holds "$took >= $2" "$1 ended early: $r"
  holds "$latest >= 0.8" "$1: no trigger stopped it late enough (triggers \
from ${FLIP_START[*]} to ${FLIP_END[*]} s; $r)"
  holds "$took < $2 + 0.8" "$1 took $took s for $2 s (triggers at \
${FLIP_START[*]} s)"
}

# timed_pair MAIN_CALL MAIN_RESULT WORKER_CALL WORKER_RESULT: the main
# thread and the worker each make their call of 2 s while three triggers
# stop them; each ends as expected (check_timed).
timed_pair() {
  ctl tt "start main $1 2000" >/dev/null
  local t0=$EPOCHREALTIME
  ctl tt "start worker $3 2000" >/dev/null
  flips_at "$t0" 0.4 0.9 1.4
  check_timed main 2 "$2"
  check_timed worker 2 "$4"
}

@test "timed epoll_wait resumes with the time it had left, in both threads" {
  start_timed
  timed_pair epoll "rc=0 errno=0" epoll "rc=0 errno=0"
  assert_alive "$TPID"
}

@test "timed rt_sigtimedwait and epoll_pwait2 (a timespec) resume with the time they had left" {
  start_timed
  timed_pair sigwait "rc=-1 errno=EAGAIN" epoll2 "rc=0 errno=0"
  # again, now that the timespecs ulp wrote are in place
  timed_pair epoll2 "rc=0 errno=0" sigwait "rc=-1 errno=EAGAIN"
}

@test "timed io_getevents resumes with the time it had left" {
  start_timed
  timed_pair aio "rc=0 errno=0" aio "rc=0 errno=0"
}

@test "recv and read on a socket with SO_RCVTIMEO resume with the time they had left" {
  start_timed
  timed_pair recv "rc=-1 errno=EAGAIN" read "rc=-1 errno=EAGAIN"
  assert_alive "$TPID"
}

@test "send (SO_SNDTIMEO) and accept (SO_RCVTIMEO) resume with the time they had left" {
  start_timed
  timed_pair send "rc=-1 errno=EAGAIN" accept "rc=-1 errno=EAGAIN"
}

@test "a socket call resumed after triggers still gets the data that comes" {
  start_timed
  local t0 r took who
  ctl tt "start main recv 3000" >/dev/null
  t0=$EPOCHREALTIME
  ctl tt "start worker read 3000" >/dev/null
  flips_at "$t0" 0.2 0.5
  sleep "$(awk -v t0="$t0" -v now="$EPOCHREALTIME" 'BEGIN { d = t0 + 1 - now; printf "%.3f", (d > 0 ? d : 0) }')"
  assert_equal "$(ctl tt "poke main")" "sent"
  assert_equal "$(ctl tt "poke worker")" "sent"
  for who in main worker; do
    r=$(ctl tt "result $who")
    echo "# $who: $r" >&3
    [[ $r == "rc=1 errno=0 took="* ]] || fail "$who: $r"
    took=${r##*took=}
    holds "$took >= 0.9 && $took < 2" "$who got its byte after $took s, poked at 1 s"
  done
}

@test "a thread whose seccomp filter kills on poll: its recv is made again with the socket's full timeout, nothing dies" {
  start_timed
  local r took
  ctl tt "start worker nopoll 0" >/dev/null
  [[ $(ctl tt "result worker") == "rc=0 errno=0 took="* ]] || fail "no filter"
  ctl tt "start worker recv 1000" >/dev/null
  flip 0
  flip 1
  r=$(ctl tt "result worker")
  echo "# worker: $r" >&3
  [[ $r == "rc=-1 errno=EAGAIN took="* ]] || fail "recv: $r"
  took=${r##*took=}
  holds "$took >= 1" "recv ended early: $r"
  assert_alive "$TPID"
  assert_equal "$(ctl tt demo)" "original"
}

@test "recv on a socket with SO_RCVTIMEO survives 20 triggers without EINTR and times out on time" {
  start_timed
  ctl tt "start worker recv 4000" >/dev/null
  local t0=$EPOCHREALTIME
  ctl tt "start main recv 4000" >/dev/null
  flips_at "$t0" 0.1 0.25 0.4 0.55 0.7 0.85 1.0 1.15 1.3 1.45 1.6 1.75 1.9 2.05 2.2 \
    2.35 2.5 2.65 2.8 2.95
  check_timed worker 4 "rc=-1 errno=EAGAIN"
  check_timed main 4 "rc=-1 errno=EAGAIN"
}

@test "a real signal still makes a timed call fail with EINTR, even while ulp holds the thread" {
  start_timed
  local r call
  # after two triggers: in the call made again, and in the poll a socket
  # call resumed by ulp waits in
  for call in epoll recv; do
    ctl tt "start worker $call 30000" >/dev/null
    flip $FLIPS
    flip $((FLIPS + 1))
    FLIPS=$((FLIPS + 2))
    assert_equal "$(ctl tt "signal worker")" "sent"
    r=$(ctl tt "result worker")
    [[ $r == "rc=-1 errno=EINTR took="* ]] || fail "$call: $r"
  done
  # while held: the signal comes while the tool, stopped for it
  # (ULP_FAILPOINT=NAME:stop) after switching the patch, holds the worker
  # and has not yet released it.
  ctl tt "start worker recv 30000" >/dev/null
  run python3 - "$ULP" "$TPID" "$(ctl tt "tid worker")" "$W/p1.so" <<'PY'
import ctypes, os, signal, subprocess, sys, time
ulp, pid, tid, patch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
SYS_tgkill = 234

def state(path):
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()[0]

env = dict(os.environ, ULP_FAILPOINT="commit-switched:stop")
tool = subprocess.Popen([ulp, "trigger", "-p", str(pid), patch], env=env,
                        stdout=subprocess.DEVNULL)
deadline = time.monotonic() + 20
while state(f"/proc/{tool.pid}/stat") != "T":
    if tool.poll() is not None or time.monotonic() > deadline:
        sys.exit("the tool never stopped at commit-switched")
    time.sleep(0.001)
held = state(f"/proc/{pid}/task/{tid}/stat") == "t"
if held:
    libc.syscall(SYS_tgkill, pid, tid, signal.SIGUSR1)
os.kill(tool.pid, signal.SIGCONT)
if not held:
    tool.wait()
    sys.exit("the worker is not held at commit-switched")
if tool.wait() != 0:
    sys.exit("the trigger failed")
print("signal sent while held")
PY
  [ "$status" -eq 0 ] || fail "$output"
  echo "# $output" >&3
  r=$(ctl tt "result worker")
  [[ $r == "rc=-1 errno=EINTR took="* ]] || fail "recv: $r"
  assert_alive "$TPID"
}
