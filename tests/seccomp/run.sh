#!/usr/bin/env bash
# The lead will turn this into a Bats case and a Makefile rule.
# Builds tests/seccomp/probe_test.c against the library and runs it (as root):
# ulp_seccomp_check on children under real seccomp policies, checked against
# the kernel's own verdicts.  Environment: ULP_BUILD (build dir, ./build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${ULP_BUILD:-$top/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
  -I"$top/libpulp/lib" -I"$top/libpulp/include" \
  -o "$work/probe_test" "$here/probe_test.c" "$build/libulp.a" -lelf -lcrypto
"$work/probe_test"
