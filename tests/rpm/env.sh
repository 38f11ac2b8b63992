# Sourced by the rpm tests, the demo and the benchmark: a private setting
# for rpm and zypper that leaves the host alone.

# rpm_home HOME BUILD TOP: HOME/.rpmmacros with macros.ulp, the plugin and
# helper of BUILD, and one database path for rpm and zypper (inside --root,
# or under --dbpath).  The throwaway roots stand for the host here, so the
# admin's opt-in to patching from a root other than / is given.
rpm_home() {
  mkdir -p "$1"
  {
    cat "$3/macros.ulp"
    echo "%__plugindir $2/rpm-plugin"
    echo "%_ulp_helper $2/ulp_post_hook"
    echo "%_ulp_tool $2/ulp"
    echo "%_dbpath /usr/lib/sysimage/rpm"
    echo "%_ulp_patch_from_root 1"
  } >"$1/.rpmmacros"
}

# make_root DIR: an empty system with the shell and C library scriptlets
# need (the test-base package stands for them in the database).
make_root() {
  local r=$1
  mkdir -p "$r/usr/bin" "$r/lib64" "$r/lib/x86_64-linux-gnu"
  ln -s usr/bin "$r/bin"
  cp /bin/dash "$r/usr/bin/sh"
  cp /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
  cp /lib/x86_64-linux-gnu/libc.so.6 "$r/lib/x86_64-linux-gnu/"
}

# trust_dir DIR CA: a trust store holding CA, as the host would have it.
trust_dir() {
  mkdir -p "$1"
  chmod 755 "$1"
  cp "$2" "$1/"
}

# private_host DIR BUILD TOP: everything rpm, zypper and ulp read from the
# host, made private under DIR: HOME with its .rpmmacros, a trust store
# holding the fixtures' CA, policy, sealed copies, sysconfig and catalogs
# (the catalogs of the root DIR/root).
private_host() {
  export HOME=$1/home ULP_TRUST_DIR=$1/trust.d ULP_LOG=$1/ulp.log
  export ULP_CONFIG=$1/ulp.conf ULP_SYSCONFIG=$1/sysconfig
  export ULP_CATALOG_DIR=$1/root/usr/share/ulp/catalog
  rpm_home "$HOME" "$2" "$3"
  trust_dir "$ULP_TRUST_DIR" "$2/tests/rpm/pki/ca.pem"
}
