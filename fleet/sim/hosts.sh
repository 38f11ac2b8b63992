#!/bin/bash
# hosts.sh: simulated hosts on one machine, for the fleet tests and the
# benchmark.  Each host has its own PID, mount, network, UTS and IPC
# namespaces (unshare), so its own process numbers, hostname and a network
# with only lo; overlays on /usr, /etc, /var and /root give it its own rpm
# database, zypper configuration, /etc/ulp and installed files, while the
# machine's own stay untouched; /run is a tmpfs of its own.  Each host's
# init first makes its root, a chroot included, the root of its mount
# namespace (own-root.py).  Ansible reaches a host through the
# community.docker.nsenter connection (ansible_nsenter_pid: its init).
#
#   hosts.sh up DIR N [--serve REPO] [--boot SCRIPT]
#       starts host1..hostN under DIR and writes DIR/inventory.ini
#       (group livepatch_hosts).  --serve REPO: REPO is served over HTTP
#       on each host's own 127.0.0.1:8080 only.  --boot SCRIPT runs inside
#       each host once it is up (HOST_INDEX=1..N, HOST_DIR in the
#       environment): the host's base packages and services.
#   hosts.sh down DIR      stops every host of DIR (kills its init)
#   hosts.sh stop DIR I    stops host I only: it becomes unreachable
#   hosts.sh pid DIR I     the machine's PID of host I's init
#   hosts.sh possible      exits 1 with the reason where hosts cannot run
set -euo pipefail
self=$(readlink -f "$0")

# Why hosts cannot run on this machine; nothing when they can.
impossible() {
  if [ "$(id -u)" != 0 ]; then
    echo "making a host's namespaces needs root"
  elif ! unshare --mount --pid --net --uts --ipc --fork --propagation unchanged true 2>/dev/null; then
    echo "unshare cannot make PID, mount, network, UTS and IPC namespaces here (no CAP_SYS_ADMIN?)"
  elif ! command -v python3 >/dev/null; then
    echo "own-root.py, which gives each host its root and mounts, needs python3"
  fi
}

# Whether PID is PID 1 of a namespace of its own: a host's init.
is_host_init() {
  grep -q "^NSpid:.*[[:space:]]1$" "/proc/$1/status" 2>/dev/null
}

# The init of a host, PID 1 of its namespaces: it makes the host, then
# reaps orphans until it is killed.
boot() {
  local dir=$1 name=$2 serve=$3 script=$4
  for d in usr etc var root; do
    mkdir -p "$dir/upper/$d" "$dir/work/$d"
    mount -t overlay overlay \
      -o "lowerdir=/$d,upperdir=$dir/upper/$d,workdir=$dir/work/$d" "/$d"
  done
  # Its own /run: zypper's lock (/run/zypp.pid) is per host.
  mount -t tmpfs -o mode=755 tmpfs /run
  hostname "$name"
  ip link set lo up
  # Where libzypp and rpm agree on the database, as on SUSE.
  rm -rf /var/lib/rpm
  mkdir -p /usr/lib/sysimage/rpm /etc/rpm
  ln -s ../../usr/lib/sysimage/rpm /var/lib/rpm
  echo '%_dbpath /usr/lib/sysimage/rpm' >/etc/rpm/macros.simhost
  : >/var/log/ulp.log
  if [ -n "$serve" ]; then
    python3 -m http.server --bind 127.0.0.1 8080 --directory "$serve" \
      >/var/log/repo-server.log 2>&1 &
    for _ in $(seq 100); do
      (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break
      sleep 0.05
    done
  fi
  if [ -n "$script" ]; then
    HOST_DIR=$dir bash "$script" >"$dir/boot.log" 2>&1 || {
      echo failed >"$dir/state"
      exit 1
    }
  fi
  echo up >"$dir/state"
  trap 'exit 0' TERM
  while :; do
    wait -n 2>/dev/null || sleep 1
  done
}

up() {
  local why
  why=$(impossible)
  [ -z "$why" ] || { echo "hosts.sh: $why" >&2; exit 1; }
  local top=$1 n=$2
  shift 2
  local serve="" script=""
  while [ $# -gt 0 ]; do
    case $1 in
    --serve) serve=$(cd "$2" && pwd) ;;
    --boot) script=$(cd "$(dirname "$2")" && pwd)/$(basename "$2") ;;
    *) echo "hosts.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
  done
  mkdir -p "$top"
  top=$(cd "$top" && pwd)
  local inventory=$top/inventory.ini
  echo "[livepatch_hosts]" >"$inventory.new"
  for i in $(seq "$n"); do
    local dir=$top/host$i
    mkdir -p "$dir"
    rm -f "$dir/state"
    # own-root.py first: private mounts, a /proc of its own, and nsenter
    # landing in this root, a chroot included.
    HOST_INDEX=$i setsid unshare --pid --mount --net --uts --ipc --fork \
      --propagation unchanged python3 "$(dirname "$self")/own-root.py" \
      bash "$self" __boot "$dir" "host$i" "$serve" "$script" \
      </dev/null >"$dir/init.log" 2>&1 &
    echo $! >"$dir/unshare.pid"
  done
  for i in $(seq "$n"); do
    local dir=$top/host$i pid
    # Known at once, so that down stops a host that never comes up.
    pid=$(init_pid "$dir") || {
      echo "hosts.sh: host$i: unshare started no init" >&2
      exit 1
    }
    echo "$pid" >"$dir/pid"
    for _ in $(seq 600); do
      [ -s "$dir/state" ] && break
      sleep 0.1
    done
    if [ "$(cat "$dir/state" 2>/dev/null)" != up ]; then
      echo "hosts.sh: host$i did not come up; $dir/init.log and boot.log say:" >&2
      cat "$dir/init.log" "$dir/boot.log" >&2 2>/dev/null || true
      exit 1
    fi
    echo "host$i ansible_connection=community.docker.nsenter ansible_nsenter_pid=$pid ansible_python_interpreter=/usr/bin/python3" >>"$inventory.new"
  done
  mv "$inventory.new" "$inventory"
}

# The machine's PID of the process that is PID 1 in DIR's host: the child
# that unshare (DIR/unshare.pid) forked into the new namespaces.
init_pid() {
  local parent child
  parent=$(cat "$1/unshare.pid")
  for _ in $(seq 200); do
    child=$(pgrep -P "$parent" | head -n 1) || true
    if [ -n "$child" ] && is_host_init "$child"; then
      echo "$child"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

stop() {
  local dir=$1
  local pid
  pid=$(cat "$dir/pid" 2>/dev/null) || return 0
  [ "$(cat "$dir/state" 2>/dev/null)" != down ] || return 0
  # Only while that PID is still a host's init, not a number reused since.
  is_host_init "$pid" || { echo down >"$dir/state"; return 0; }
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo down >"$dir/state"
}

case ${1:-} in
__boot) shift; boot "$@" ;;
up) shift; up "$@" ;;
down)
  for dir in "$2"/host*/; do stop "${dir%/}"; done
  ;;
stop) stop "$2/host$3" ;;
pid) cat "$2/host$3/pid" ;;
possible)
  why=$(impossible)
  [ -z "$why" ] || { echo "$why"; exit 1; }
  ;;
*)
  sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
