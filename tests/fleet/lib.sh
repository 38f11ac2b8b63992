# The vendor's and the repository owner's side of the fleet tests and
# benchmark, in plain bash (sourced by tests/fleet.bash and
# tests/bench/fleet.sh).  Needs FLEET (the fleet/ folder) and PKG (the rpm
# fixtures, tests/rpm/build-fixtures.sh).

# fleet_keys DIR: GNUPGHOME=DIR with the vendor's package key and the
# repository key; their public halves in DIR/packages.asc, DIR/repository.asc.
fleet_keys() {
  export GNUPGHOME=$1
  mkdir -p -m 700 "$GNUPGHOME"
  local uid
  for uid in "Test Vendor Packages <packages@vendor.test>" "Test Fleet Repository <repo@fleet.test>"; do
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "$uid" rsa2048 sign never 2>/dev/null
  done
  gpg --batch --armor --export packages@vendor.test >"$GNUPGHOME/packages.asc"
  gpg --batch --armor --export repo@fleet.test >"$GNUPGHOME/repository.asc"
}

# fleet_repo DIR SIGNED: the test packages signed by the vendor into
# SIGNED, and published in the repository DIR.
fleet_repo() {
  local dir=$1 signed=$2
  mkdir -p "$signed"
  cp "$PKG"/root/good/*.rpm "$signed/"
  "$FLEET/bin/sign-packages" packages@vendor.test "$signed"/*.rpm
  "$FLEET/bin/publish-repo" repo@fleet.test "$GNUPGHOME/packages.asc" "$dir" "$signed"/*.rpm
}

# fleet_hosts_up DIR N REPO: N simulated hosts serving REPO on their own
# 127.0.0.1:8080, booted with tests/fleet/boot-host.sh; DIR/vars.yml holds
# the playbooks' variables (keys, CA, report directory DIR/report).
fleet_hosts_up() {
  local dir=$1 n=$2 repo=$3
  FLEET_PACKAGES=$PKG/root/good FLEET_MONITOR=$PKG/monitor FLEET_TRACER=$PKG/tracer \
    "$FLEET/sim/hosts.sh" up "$dir/hosts" "$n" --serve "$repo" \
    --boot "$FLEET/../tests/fleet/boot-host.sh"
  cat >"$dir/vars.yml" <<VARS
ulp_repo_key: $GNUPGHOME/repository.asc
ulp_package_key: $GNUPGHOME/packages.asc
ulp_container_ca: $PKG/pki/ca.pem
livepatch_report_dir: $dir/report
VARS
}

# fleet_play DIR PLAYBOOK [ansible-playbook options]: a playbook of fleet/
# against DIR's hosts.
fleet_play() {
  local dir=$1 book=$2
  shift 2
  env ANSIBLE_CONFIG="$FLEET/ansible.cfg" ANSIBLE_LOCAL_TEMP="$dir/ansible" \
    ANSIBLE_NOCOLOR=1 ansible-playbook -i "$dir/hosts/inventory.ini" \
    -e "@$dir/vars.yml" "$FLEET/$book" "$@"
}
