#!/bin/bash
# A simulated host's base system (fleet/sim/hosts.sh --boot): test-base
# and libdemo installed as an image would have them (odd hosts run
# libdemo-1.0-1, even ones 1.0-2), and FLEET_MONITORS (2) long-running
# users of libdemo, each calling it every FLEET_MONITOR_US (1000)
# microseconds,
# nothing preloaded, logging which code they run to /var/log/monitor-N.log.
# FLEET_TRACED_HOST=I: host I's first monitor is held by a debugger-like
# tracer, so no live patch can reach it.
# FLEET_OPTED_OUT_HOST=I: host I's second monitor opts out of live patching
# (LIBPULP_DISABLE_ON_USERS=root in its environment).
set -euo pipefail
: "${FLEET_PACKAGES:?}" "${FLEET_MONITOR:?}" "${FLEET_TRACER:?}"
release=$(((HOST_INDEX - 1) % 2 + 1))
rpm -i --quiet "$FLEET_PACKAGES"/test-base-1-1.noarch.rpm \
  "$FLEET_PACKAGES/libdemo-1.0-$release.x86_64.rpm" 2>&1 | grep -v 'Alien\|know what' || true
for j in $(seq "${FLEET_MONITORS:-2}"); do
  opt_out=()
  [ "$HOST_INDEX:$j" != "${FLEET_OPTED_OUT_HOST:-}:2" ] || opt_out=(LIBPULP_DISABLE_ON_USERS=root)
  env "${opt_out[@]}" LD_LIBRARY_PATH=/usr/lib64 setsid "$FLEET_MONITOR" "/var/log/monitor-$j.log" "${FLEET_MONITOR_US:-1000}" \
    </dev/null >/dev/null 2>&1 &
  echo $! >"/var/log/monitor-$j.pid"
done
for j in $(seq "${FLEET_MONITORS:-2}"); do
  for _ in $(seq 200); do
    grep -q original "/var/log/monitor-$j.log" 2>/dev/null && break
    sleep 0.02
  done
done
if [ "${FLEET_TRACED_HOST:-0}" = "$HOST_INDEX" ]; then
  setsid "$FLEET_TRACER" "$(cat /var/log/monitor-1.pid)" </dev/null >/var/log/tracer.log 2>&1 &
  for _ in $(seq 200); do
    grep -q tracing /var/log/tracer.log && break
    sleep 0.02
  done
fi
