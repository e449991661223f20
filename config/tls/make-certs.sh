#!/bin/sh
# Makes the demo's private CA, the ingress's server certificate and one client certificate, as PEM
# files in the directory given (default /certs), and keeps the CA's private key in a second
# directory (default: the first), which docker-compose.yml keeps out of the ingresses' mounts: a
# process serving TLS has no use for the key that can issue certificates every ingress trusts.
# docker-compose.yml runs it once (service "certs") before the ingresses start. It keeps what is
# still good, so a restart does not replace the CA under clients that already trust it: a server or
# client certificate that expires within 30 days is issued again under the same CA, and the CA
# with both of them when the CA itself expires within 30 days or its key is gone (clients must then
# take the new ca.pem). For a demo only: keys are left readable.
#   sh config/tls/make-certs.sh ./certs [./certs]
# WAL_TLS_DAYS: how long a server or client certificate is valid (default 365); the CA, ten years.
set -eu
out="${1:-/certs}"
private="${2:-$out}"
client="${WAL_TLS_CLIENT_NAME:-demo-client}"
days="${WAL_TLS_DAYS:-365}"
mkdir -p "$out" "$private"
private="$(cd "$private" && pwd)"
cd "$out"
# An earlier run kept the CA's key beside the certificates: it moves to where the key belongs.
if [ "$private" != "$(pwd)" ] && [ -s ca.key ] && [ ! -s "$private/ca.key" ]; then
  mv ca.key "$private/ca.key"
fi
rm -f ca.srl

# True when the certificate file is there and still valid 30 days from now.
lasts() { [ -s "$1" ] && openssl x509 -checkend 2592000 -noout -in "$1" >/dev/null 2>&1; }

if ! lasts ca.pem || [ ! -s "$private/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Wal demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$private/ca.key" -out ca.pem
  # Issued by the CA just replaced: no client trusting the new one would take them.
  rm -f server.pem client.pem
  echo "new CA written to $out/ca.pem: clients must trust it instead of any earlier one"
fi

# issue NAME CN EXTENSIONS...: a key and a certificate under the CA, unless the one there lasts.
issue() {
  name="$1" cn="$2"
  shift 2
  if lasts "$name.pem" && [ -s "$name.key" ]; then
    return
  fi

  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr"
  printf '%s\n' "basicConstraints=CA:FALSE" "$@" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey "$private/ca.key" -CAcreateserial -CAserial "$private/ca.srl" \
    -days "$days" -extfile "$name.ext" -out "$name.pem"
  rm -f "$name.csr" "$name.ext"
  chmod 644 "$name.key"
  echo "$name.pem written to $out (CN $cn, valid $days days)"
}

# The ingress: reached as ingress-a/ingress-b inside the compose network, localhost from the host.
issue server ingress "extendedKeyUsage=serverAuth" "subjectAltName=DNS:ingress-a,DNS:ingress-b,DNS:localhost,IP:127.0.0.1"
# A client: its CN (and DNS name) is what a namespace's allowedClients lists.
issue client "$client" "extendedKeyUsage=clientAuth" "subjectAltName=DNS:$client"
echo "certificates in $out: ca.pem server.pem server.key client.pem client.key (client CN $client); the CA's key in $private"
