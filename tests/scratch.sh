# Sourced by the demo and benchmark scripts: a scratch directory ($work) and
# the background processes they start ($pids), both gone on exit.
work=$(mktemp -d)
pids=()
scratch_cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap scratch_cleanup EXIT
