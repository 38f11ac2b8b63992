#!/usr/bin/env bash
# make bench, part 5: the livepatchable OpenSSL of real-targets/ (built and
# packaged by tests/rpm/build-openssl.sh; the first run on a machine builds
# OpenSSL).  Two figures:
#   - handshakes per second of one TLS client against one TLS server (both
#     of libopenssl3 release 1), unpatched and with openssl-livepatches
#     applied: the server picks the protocol with SSL_select_next_proto,
#     the patched function, in every handshake, so the detour's cost on
#     real code shows here (BENCH_TLS_SECONDS per sample, 3 samples each);
#   - zypper install, update and remove of openssl-livepatches with
#     BENCH_TLS_SERVERS (100) TLS server processes running.
set -euo pipefail
build=$(cd "${ULP_BUILD:-$(dirname "$0")/../../build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${BENCH_TLS_SECONDS:-5}
servers=${BENCH_TLS_SERVERS:-100}
source "$top/tests/rpm/env.sh"
source "$top/tests/scratch.sh"

ossl=$work/openssl
"$top/tests/rpm/build-openssl.sh" "$ossl" "$build" "$build/tests/rpm" >"$work/build.out" 2>&1 ||
  { cat "$work/build.out" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=localhost -days 2 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

private_host "$work" "$build" "$top"
root=$work/root
make_root "$root"
zyp() { zypper --root "$root" --non-interactive --no-gpg-checks "$@"; }
zyp addrepo "file://$ossl/repo" openssl >/dev/null
zyp install --no-recommends test-base ulp libopenssl3-3.0.20-1 >/dev/null 2>&1
lib=$root/usr/lib64

# server NAME [PROBE_FILE]: a TLS server; its port in $work/NAME.port.
server() {
  LD_LIBRARY_PATH=$lib "$ossl/bin/tls_server" "$work/cert.pem" "$work/key.pem" \
    "$work/$1.port" "${2:--}" 2>>"$work/servers.err" &
  pids+=($!)
  for _ in $(seq 500); do [ -s "$work/$1.port" ] && return 0; sleep 0.01; done
  echo "TLS server $1 did not start" >&2
  exit 1
}
handshakes() { awk '{print $2}' "$work/client.count"; }
# rate: handshakes per second over the next $seconds seconds.
rate() {
  local n0 n1
  n0=$(handshakes)
  sleep "$seconds"
  n1=$(handshakes)
  echo $(((n1 - n0) / seconds))
}

server timed
LD_LIBRARY_PATH=$lib "$ossl/bin/tls_client" "$work/timed.port" "$work/client.count" \
  2>"$work/client.err" &
client=$!
pids+=("$client")
sleep 1
unpatched=() patched=()
for _ in 1 2 3; do
  unpatched+=("$(rate)")
  zyp install openssl-livepatches-1 >"$work/out" 2>&1
  grep -q "tls_server (pid ${pids[0]}, libopenssl3-3.0.20-1.x86_64): SUCCESS" "$work/out" ||
    { echo "the timed server was not patched:" >&2; tail -5 "$work/out" >&2; exit 1; }
  patched+=("$(rate)")
  zyp remove openssl-livepatches >/dev/null 2>&1
done
kill -TERM "$client"
wait "$client" || true
read -r _ ok _ failed <"$work/client.count"
[ "$failed" = 0 ] || { echo "$failed handshakes failed:" >&2; cat "$work/client.err" >&2; exit 1; }

for ((i = 0; i < servers; i++)); do server "s$i"; done
sleep 1
ms() { date +%s%N; }
# timed COUNT WORD COMMAND...: milliseconds of COMMAND, which must report
# COUNT + 1 processes (the servers and the timed one) done.
timed() {
  local want=$1 word=$2 t0 t1 n
  shift 2
  t0=$(ms)
  "$@" >"$work/out" 2>&1
  t1=$(ms)
  n=$(grep -c "tls_server (pid [0-9]*, libopenssl3[^)]*): SUCCESS" "$work/out" || true)
  if [ "$n" -ne "$want" ]; then
    echo "expected $want TLS servers $word, saw $n:" >&2
    tail -5 "$work/out" >&2
    exit 1
  fi
  echo $(((t1 - t0) / 1000000))
}
install=$(timed $((servers + 1)) patched zyp install openssl-livepatches-1)
update=$(timed $((2 * (servers + 1))) "patched again" zyp update openssl-livepatches)
remove=$(timed $((2 * (servers + 1))) reverted zyp remove openssl-livepatches)

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\nOpenSSL (libopenssl3 3.0.20, real-targets/), TLS 1.3 over 127.0.0.1:\n'
printf '  handshakes/s, one client, one server (median of 3 x %ds):\n' "$seconds"
printf '    %-40s %6s  (%s)\n' "unpatched" "$(median "${unpatched[@]}")" "${unpatched[*]}" \
  "openssl-livepatches 1 applied" "$(median "${patched[@]}")" "${patched[*]}"
printf '    %s handshakes in all, 0 failed\n' "$ok"
printf '  zypper with %d TLS servers running (ms):\n' "$((servers + 1))"
printf '    %-40s %6s\n' "zypper install openssl-livepatches-1" "$install" \
  "zypper update (libssl v2 + libcrypto v2)" "$update" \
  "zypper remove openssl-livepatches" "$remove"
