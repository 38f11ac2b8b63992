#!/usr/bin/env bash
# make demo: zypper installs a livepatch package and the running processes
# are patched without a restart; zypper removes it and they are unpatched.
# Everything happens in a throwaway root with its own rpm database, zypper
# configuration and trust store; nothing of the host changes.
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
pkg=$build/tests/rpm
ulp=$build/ulp

source "$top/tests/scratch.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
# zypper, showing what it installs or removes and the plugin's report
zyp() {
  printf '$ zypper %s\n' "$*"
  zypper --root "$root" --non-interactive --no-gpg-checks "$@" 2>&1 \
    | grep -E '^(ulp:|warning: ulp:|\([0-9]+/[0-9]+\) |Repository .* added)' || true
}

source "$top/tests/rpm/env.sh"
root=$work/root
make_root "$root"
private_host "$work" "$build" "$top"

step "A repository with libdemo 1.0-1 and 1.0-2 and demo-livepatches 1 and 2"
ls "$pkg/repo"
zyp addrepo "file://$pkg/repo" demo

step "Install libdemo 1.0-1 and ulp; start two programs; upgrade to 1.0-2; start a third"
zyp install --no-recommends test-base ulp libdemo-1.0-1
start() { # started as usual: nothing preloaded
  LD_LIBRARY_PATH=$root/usr/lib64 "$pkg/monitor" "$work/$1.log" &
  pids+=($!)
}
start app1
start app2
sleep 0.2
zyp install --no-recommends libdemo-1.0-2
start app3
sleep 0.2
echo "app1 and app2 still run the 1.0-1 build, app3 runs 1.0-2"

step "Before: no patches (ulp patches lists the libraries and patches of each process)"
show "$ulp" patches -p monitor

step "zypper install demo-livepatches-1: each process gets the container for its build"
zyp install demo-livepatches-1
show "$ulp" patches -p monitor

step "zypper update: livepatch 2 replaces livepatch 1, one stop per process"
zyp update demo-livepatches
show "$ulp" patches -p monitor

step "zypper remove: back to the original code"
zyp remove demo-livepatches
show "$ulp" patches -p monitor

step "What each process ran, as its monitor thread saw it (never restarted)"
sleep 0.1
for i in 1 2 3; do
  printf 'app%s: %s\n' "$i" "$(paste -sd'>' "$work/app$i.log" | sed 's/>/ -> /g')"
done
