# Shared setup of the rpm and zypper tests: real rpm, real zypper, real
# packages (built by tests/rpm/build-fixtures.sh), private databases and
# roots, and long-running processes patched through the real plugin.
load helpers

PKG=$FIX/rpm

setup() {
  W=$BATS_TEST_TMPDIR
  PIDS=()
  export ULP_TRUST_DIR=$W/trust.d ULP_CONFIG=$W/ulp.conf ULP_RUN_DIR=$W/run
  export ULP_SYSCONFIG=$W/sysconfig
  mkdir -p "$ULP_TRUST_DIR" "$W/home"
  chmod 755 "$ULP_TRUST_DIR"
  cp "$PKG/pki/ca.pem" "$ULP_TRUST_DIR/"
  # rpm and zypper read the macros from HOME: the plugin and helper of this
  # build, and one database path for both (inside --root, or --dbpath).
  export HOME=$W/home
  {
    cat "$ROOT/macros.ulp"
    echo "%__plugindir $BUILD/rpm-plugin"
    echo "%_ulp_helper $BUILD/ulp_post_hook"
    echo "%_ulp_tool $ULP"
    echo "%_dbpath /usr/lib/sysimage/rpm"
  } >"$HOME/.rpmmacros"
  R=$W/root
}

# make_root DIR: an empty system with the shell and C library scriptlets
# need (the test-base package stands for them in the database).
make_root() {
  local r=$1
  mkdir -p "$r/usr/bin" "$r/lib64" "$r/lib/x86_64-linux-gnu"
  ln -s usr/bin "$r/bin"
  cp /bin/dash "$r/usr/bin/sh"
  cp /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
  cp /lib/x86_64-linux-gnu/libc.so.6 "$r/lib/x86_64-linux-gnu/"
}

# rpm_quiet ARGS...: rpm without Debian's "use Alien" warning.
rpm_quiet() {
  rpm "$@" 2> >(grep -v 'use Alien\|know what you are doing' >&2)
}

# monitor NAME LIBDIR: a process running the monitor against LIBDIR's
# libdemo with the runtime of RUNTIME_SO (default: the build's); $LAST.
# NORUNTIME=1 leaves the runtime out.
monitor() {
  local name=$1 libdir=$2
  if [ -n "${NORUNTIME:-}" ]; then
    LD_LIBRARY_PATH=$libdir "$PKG/monitor" "$W/$name.log" &
  else
    LD_PRELOAD=${RUNTIME_SO:-$RUNTIME} LD_LIBRARY_PATH=$libdir "$PKG/monitor" "$W/$name.log" &
  fi
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
