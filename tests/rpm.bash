# Shared setup of the rpm and zypper tests: real rpm, real zypper, real
# packages (built by tests/rpm/build-fixtures.sh), private databases and
# roots, and long-running processes patched through the real plugin.
load helpers
source "$BATS_TEST_DIRNAME/rpm/env.sh"

PKG=$FIX/rpm

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  private_host "$W" "$BUILD" "$ROOT"
  R=$W/root
}

# rpm_quiet ARGS...: rpm without Debian's "use Alien" warning.
rpm_quiet() {
  rpm "$@" 2> >(grep -v 'use Alien\|know what you are doing' >&2)
}

# monitor NAME LIBDIR: a process running the monitor against LIBDIR's
# libdemo, nothing preloaded; $LAST.  PRELOAD=FILE starts it the way
# ulp 0.1 needed, with the former runtime FILE preloaded.
monitor() {
  local name=$1 libdir=$2
  LD_PRELOAD=${PRELOAD:-} LD_LIBRARY_PATH=$libdir "$PKG/monitor" "$W/$name.log" &
  LAST=$!
  PIDS+=("$LAST")
  wait_for_maps "$LAST" libdemo.so.1
  wait_for_log "$name" "original"
}

# wait_for_log NAME TEXT: until NAME's monitor log's last line is TEXT.
wait_for_log() {
  for _ in $(seq 300); do
    [ "$(tail -n1 "$W/$1.log" 2>/dev/null)" = "$2" ] && return 0
    [ "$2" = original ] && grep -q '^original' "$W/$1.log" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "$1's log never ended with '$2'; it has: $(cat "$W/$1.log" 2>/dev/null)" >&2
  return 1
}

# log_is NAME LINE...: the monitor log is exactly these lines (after the
# last one has appeared): the process ran these code versions in order.
log_is() {
  local name=$1
  shift
  local want
  want=$(printf '%s\n' "$@")
  wait_for_log "$name" "${!#}" || true
  sleep 0.05
  local have
  have=$(cat "$W/$name.log")
  if [ "$have" != "$want" ]; then
    printf 'monitor %s ran:\n%s\nexpected:\n%s\n' "$name" "$have" "$want" >&2
    return 1
  fi
}
