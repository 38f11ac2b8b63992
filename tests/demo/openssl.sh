#!/usr/bin/env bash
# make demo, act 2: real fixes in a real library.  OpenSSL 3.0 from Debian
# 12's source, built livepatchable and vulnerable again to CVE-2024-5535
# and CVE-2023-0286 (real-targets/openssl; the first run on a machine
# builds it, about 8 minutes on 2 cores), runs a TLS server and a client
# handshaking in a loop.  zypper installs, updates and removes the live
# patches; the server's own probes show each bug go and come back, and
# the client counts its handshakes.  A throwaway root, as in act 1.
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)

source "$top/tests/scratch.sh"
source "$top/tests/rpm/env.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
zyp() {
  printf '$ zypper %s\n' "$*"
  zypper --root "$root" --non-interactive --no-gpg-checks "$@" 2>&1 \
    | grep -E '^(ulp:|warning: ulp:|\([0-9]+/[0-9]+\) |Repository .* added)' || true
}
# probes: what the server's probes saw last, and the client's count.
probes() {
  sleep 0.5
  printf 'server probes: %s\n' "$(paste -sd';' "$work/probe" | sed 's/;/, /g')"
  printf 'client: %s\n' "$(cat "$work/count")"
}

step "Building OpenSSL 3.0 livepatchable (cached after the first run) and its packages"
ossl=$work/openssl
"$top/tests/rpm/build-openssl.sh" "$ossl" "$build" "$build/tests/rpm" >"$work/build.out" 2>&1 ||
  { cat "$work/build.out" >&2; exit 1; }
ls "$ossl/repo"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=localhost -days 2 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

root=$work/root
make_root "$root"
private_host "$work" "$build" "$top"
zyp addrepo "file://$ossl/repo" openssl

step "Install libopenssl3; start a TLS server and a client that handshake in a loop"
zyp install --no-recommends test-base ulp libopenssl3-3.0.20-1
LD_LIBRARY_PATH=$root/usr/lib64 "$ossl/bin/tls_server" "$work/cert.pem" "$work/key.pem" \
  "$work/port" "$work/probe" 2>"$work/server.err" &
pids+=($!)
while [ ! -s "$work/port" ]; do sleep 0.05; done
LD_LIBRARY_PATH=$root/usr/lib64 "$ossl/bin/tls_client" "$work/port" "$work/count" \
  2>"$work/client.err" &
client=$!
pids+=("$client")
echo "npn: signal 11 = SSL_select_next_proto read past an empty list (CVE-2024-5535)"
echo "x400: equal = two different x400Addresses compared equal (CVE-2023-0286)"
echo "host: checked = X509_check_host took a host name with an embedded NUL"
probes

step "zypper install openssl-livepatches-1: CVE-2024-5535 fixed in the running processes"
zyp install openssl-livepatches-1
probes

step "zypper update: libopenssl3-3.0.20-2 on disk (the processes keep running release 1), openssl-livepatches 2 and openssl-livepatches-libcrypto 2: CVE-2023-0286 and X509_check_host fixed"
zyp update
probes

step "zypper remove openssl-livepatches: both reverted"
zyp remove openssl-livepatches
probes

step "The client, never restarted: every handshake succeeded"
kill -TERM "$client"
wait "$client" || true
cat "$work/count"
cat "$work/server.err" "$work/client.err"
