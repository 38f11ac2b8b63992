# Sourced by the rpm tests, the demo and the benchmark: a private setting
# for rpm and zypper that leaves the host alone.

# rpm_home HOME BUILD TOP: HOME/.rpmmacros with macros.ulp, the plugin and
# helper of BUILD, and one database path for rpm and zypper (inside --root,
# or under --dbpath).
rpm_home() {
  mkdir -p "$1"
  {
    cat "$3/macros.ulp"
    echo "%__plugindir $2/rpm-plugin"
    echo "%_ulp_helper $2/ulp_post_hook"
    echo "%_ulp_tool $2/ulp"
    echo "%_dbpath /usr/lib/sysimage/rpm"
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
