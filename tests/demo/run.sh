#!/usr/bin/env bash
# make demo: live patch a running program and revert it, step by step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${ULP_BUILD:-$here/../../build}
out=$build/demo
ulp=$build/ulp
make -s -C "$here" OUT="$out"

source "$here/../scratch.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "The library is livepatchable (built with -fpatchable-function-entry=16,14)"
show "$ulp" livepatchable "$out/libgreet.so.1"

step "Two programs use it, started as usual (nothing preloaded)"
for i in 1 2; do
  "$out/greeter" >"$work/greeter$i.log" &
  pids+=($!)
done
sleep 1.2
tail -n 1 "$work"/greeter*.log

step "Write the patch description and pack the container"
cp "$out/fix.so" "$work/fix.so"
printf '%s\n@%s\ngreeting:greeting_fixed\n' "$work/fix.so" "$out/libgreet.so.1" \
  | tee "$work/fix.dsc"
show "$ulp" packer "$work/fix.dsc"
show "$ulp" dump "$work/fix.so"

step "Before: no patches"
show "$ulp" patches -p greeter

step "Apply it to every process that maps libgreet.so.1"
show "$ulp" trigger "$work/fix.so"
sleep 1.2
tail -n 1 "$work"/greeter*.log

step "After: each process lists the patch"
show "$ulp" patches -p greeter

step "Revert it"
show "$ulp" trigger --revert "$work/fix.so"
sleep 1.2
tail -n 1 "$work"/greeter*.log

step "Done: the programs never stopped; here is one of their logs"
cat "$work/greeter1.log"
