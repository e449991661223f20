"""Calls one gRPC method with raw request bytes through python3-grpcio, as a foreign client would.

Usage: grpc_call.py [--retry=ATTEMPTS,BACKOFF_SECONDS] ADDRESS METHOD REQUEST_HEX|- [TIMEOUT_SECONDS [ROOT_CA_PEM [CERT_PEM KEY_PEM]]]
("-" reads the hex from standard input: large requests exceed the argument length limit.)
With ROOT_CA_PEM the call goes over TLS, trusting only that CA; with CERT_PEM and KEY_PEM it
presents that client certificate (mutual TLS). With --retry the channel's service config retries
RESOURCE_EXHAUSTED up to ATTEMPTS times in all, BACKOFF_SECONDS apart unless the server's
grpc-retry-pushback-ms says otherwise (grpc's own retry support).
Prints one JSON object: the status code, its details, the response bytes and the
grpc-status-details-bin trailer, both in hex. The caller serializes and parses protobuf.
Run with Debian's /usr/bin/python3 (python3-grpcio); exits 3 if grpc is missing.
"""

import json
import sys

try:
    import grpc
except ImportError as error:
    print(f"python3-grpcio is missing: {error}", file=sys.stderr)
    sys.exit(3)


def retry_options(retry):
    if retry is None:
        return []
    attempts, backoff = retry.split(",")
    policy = {
        "maxAttempts": int(attempts),
        "initialBackoff": f"{backoff}s",
        "maxBackoff": f"{backoff}s",
        "backoffMultiplier": 1,
        "retryableStatusCodes": ["RESOURCE_EXHAUSTED"],
    }
    config = {"methodConfig": [{"name": [{}], "retryPolicy": policy}]}
    return [("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(config))]


def open_channel(address, tls, options):
    if not tls:
        return grpc.insecure_channel(address, options=options)

    def read(path):
        with open(path, "rb") as file:
            return file.read()

    root = read(tls[0])
    key, chain = (read(tls[2]), read(tls[1])) if len(tls) > 2 else (None, None)
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root, key, chain), options=options)


def main() -> int:
    retry = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--retry=")), None)
    args = [a for a in sys.argv[1:] if not a.startswith("--retry=")]
    address, method, request_hex = args[0], args[1], args[2]
    if request_hex == "-":
        request_hex = sys.stdin.read().strip()
    timeout = float(args[3]) if len(args) > 3 else 30.0
    with open_channel(address, args[4:], retry_options(retry)) as channel:
        # No serializers: the request and the response are raw bytes.
        call = channel.unary_unary(method)
        result = {"response_hex": None, "status_details_hex": None}
        try:
            response, info = call.with_call(bytes.fromhex(request_hex), timeout=timeout)
            code, details, trailers = info.code(), info.details(), info.trailing_metadata()
            result["response_hex"] = response.hex()
        except grpc.RpcError as error:
            code, details, trailers = error.code(), error.details(), error.trailing_metadata()
        for key, value in trailers or ():
            if key == "grpc-status-details-bin":
                result["status_details_hex"] = value.hex()
        result["code"] = code.name
        result["code_value"] = code.value[0]
        result["details"] = details
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
