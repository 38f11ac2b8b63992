#!/usr/bin/env bats
# ulp --help and ulp SUBCOMMAND --help: the usage on stdout, exit 0; a
# usage error prints the same usage line on stderr and exits 2.
load helpers

# subcommands: every command `ulp --help` lists
subcommands() {
  "$ULP" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p'
}

# usage_error SUB: arguments that SUB refuses as a usage error
usage_error() {
  case $1 in
  check | patches | trigger) echo --no-such-option ;;
  *) ;; # no argument at all
  esac
}

@test "ulp --help lists every subcommand; ulp alone is a usage error" {
  run --separate-stderr "$ULP" --help
  assert_success
  assert_line --index 0 "usage: ulp COMMAND [ARGS]"
  assert_equal "$(subcommands | tr '\n' ' ')" \
    "livepatchable packer dump extract trigger check patches sign verify "
  run --separate-stderr "$ULP"
  assert_failure 2
  assert_equal "$output" ""
  [[ $stderr == "usage: ulp COMMAND [ARGS]"* ]] || fail "stderr: $stderr"
}

@test "ulp SUBCOMMAND --help and -h, alone or among other arguments: usage on stdout, exit 0" {
  local sub args
  for sub in $(subcommands); do
    for args in "--help" "-h" "-p 1 --help" "x.so -h"; do
      # shellcheck disable=SC2086
      run --separate-stderr "$ULP" "$sub" $args
      [ "$status" -eq 0 ] || fail "ulp $sub $args: exit $status, stderr: $stderr"
      assert_equal "$stderr" ""
      [[ ${lines[0]} == "usage: ulp $sub "* ]] || fail "ulp $sub $args: stdout: $output"
      assert_line "See ulp(1)."
    done
  done
}

@test "after --, --help is an argument, not a request for help" {
  run --separate-stderr "$ULP" dump -- --help
  assert_failure 2
  assert_equal "$output" ""
  run --separate-stderr "$ULP" trigger -p 1 -- --help
  assert_failure 2
  refute_output --partial "usage:"
}

@test "a usage error prints the usage line of --help on stderr, exit 2" {
  local sub usage
  for sub in $(subcommands); do
    usage=$("$ULP" "$sub" --help | head -n 1)
    # shellcheck disable=SC2046
    run --separate-stderr "$ULP" "$sub" $(usage_error "$sub")
    [ "$status" -eq 2 ] || fail "ulp $sub $(usage_error "$sub"): exit $status"
    assert_equal "$output" ""
    [[ $'\n'$stderr$'\n' == *$'\n'"$usage"$'\n'* ]] ||
      fail "ulp $sub: stderr '$stderr' lacks '$usage'"
  done
}
