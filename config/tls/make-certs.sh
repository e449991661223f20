#!/bin/sh
# Makes the demo's private CA, the ingress's server certificate and one client certificate, as PEM
# files in the directory given (default /certs). docker-compose.yml runs it once (service "certs")
# before the ingresses start; it keeps files that exist, so a restart does not replace the CA
# under clients that already trust it. For a demo only: keys are left readable, and nothing rotates.
#   sh config/tls/make-certs.sh ./certs
set -eu
out="${1:-/certs}"
client="${WAL_TLS_CLIENT_NAME:-demo-client}"
mkdir -p "$out"
cd "$out"
if [ -s ca.pem ] && [ -s server.pem ] && [ -s server.key ] && [ -s client.pem ] && [ -s client.key ]; then
  echo "certificates already in $out"
  exit 0
fi

openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Wal demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem

# The ingress: reached as ingress-a/ingress-b inside the compose network, localhost from the host.
openssl req -newkey rsa:2048 -nodes -subj "/CN=ingress" -keyout server.key -out server.csr
printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" \
  "subjectAltName=DNS:ingress-a,DNS:ingress-b,DNS:localhost,IP:127.0.0.1" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile server.ext -out server.pem

# A client: its CN (and DNS name) is what a namespace's allowedClients lists.
openssl req -newkey rsa:2048 -nodes -subj "/CN=$client" -keyout client.key -out client.csr
printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth" "subjectAltName=DNS:$client" > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile client.ext -out client.pem

rm -f server.csr server.ext client.csr client.ext ca.srl
chmod 644 server.key client.key
echo "certificates written to $out: ca.pem server.pem server.key client.pem client.key (client CN $client)"
