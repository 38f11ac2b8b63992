# A throwaway PKI for the signing tests, made with the openssl command:
# a CA, signing certificates (RSA, ECDSA, Ed25519) with code-signing usage,
# and the certificates each refusal needs.
pki_setup() {
  P=$W/pki
  mkdir -p "$P/db"
  : >"$P/db/index.txt"
  echo 1000 >"$P/db/serial"
  cat >"$P/ca.cnf" <<CNF
[ca]
default_ca = ca
[ca]
database = $P/db/index.txt
serial = $P/db/serial
new_certs_dir = $P/db
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[codesign]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = codeSigning
[mailonly]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = emailProtection
[keyenc]
basicConstraints = CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = codeSigning
[keyenc_only]
basicConstraints = CA:FALSE
keyUsage = critical,keyEncipherment
CNF
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.pem" \
    -subj "/CN=Test Livepatch CA" -days 30 2>/dev/null
  issue rsa "Vendor RSA" codesign
}

# issue NAME CN EXTENSIONS [STARTDATE ENDDATE] [KEYTYPE]: NAME.key + NAME.pem
issue() {
  local name=$1 cn=$2 ext=$3 start=${4:-} end=${5:-} type=${6:-rsa}
  case $type in
  rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/$name.key" 2>/dev/null ;;
  ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$name.key" 2>/dev/null ;;
  ed25519) openssl genpkey -algorithm ED25519 -out "$P/$name.key" 2>/dev/null ;;
  esac
  openssl req -new -key "$P/$name.key" -subj "/CN=$cn" -out "$P/$name.csr" 2>/dev/null
  local dates=(-days 10)
  [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
  openssl ca -batch -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" \
    -extensions "$ext" "${dates[@]}" -in "$P/$name.csr" -out "$P/$name.pem" 2>/dev/null
}

trust_ca() {
  mkdir -p "$ULP_TRUST_DIR"
  chmod 755 "$ULP_TRUST_DIR"
  cp "$P/ca.pem" "$ULP_TRUST_DIR/ca.pem"
}
