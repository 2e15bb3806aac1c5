#!/usr/bin/env bash
# A throwaway RFC 3161 Time-Stamping Authority for the tests, made with openssl alone:
#   bash tsa_pki.sh DIR [ec256|ec384|rsa] [NAME]
# writes into DIR a root CA (root.pem, root.key), a TSA certificate issued by it (tsa.pem,
# tsa.key; extendedKeyUsage critical timeStamping) and tsa.cnf, so that, from DIR,
#   openssl ts -reply -queryfile q.tsq -signer tsa.pem -inkey tsa.key -chain root.pem \
#     -config tsa.cnf -out r.tsr
# answers a time-stamp request.
set -eu
dir=$1
kind=${2:-ec256}
name=${3:-Test}
cd "$dir"
key() {
  case $kind in
    ec256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    ec384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
    *) echo "unknown key kind $kind" >&2; exit 2 ;;
  esac 2> /dev/null
}
key root.key
openssl req -x509 -new -key root.key -subj "/CN=$name Root CA" -days 3650 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out root.pem 2> /dev/null
key tsa.key
openssl req -new -key tsa.key -subj "/O=evidenced tests/CN=$name TSA" -out tsa.csr 2> /dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' > tsa.ext
openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3650 \
  -sha256 -extfile tsa.ext -out tsa.pem 2> /dev/null
cat > tsa.cnf <<'CNF'
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = .
serial = $dir/tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
echo 01 > tsaserial
