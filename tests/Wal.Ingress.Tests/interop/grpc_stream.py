"""Calls one bidirectional-streaming gRPC method with raw request bytes through python3-grpcio.

Usage: grpc_stream.py ADDRESS METHOD REQUEST_HEX [REQUEST_HEX ...]
Prints one JSON object: the status code, its details and every response message in hex.
Run with Debian's /usr/bin/python3 (python3-grpcio); exits 3 if grpc is missing.
"""

import json
import sys

try:
    import grpc
except ImportError as error:
    print(f"python3-grpcio is missing: {error}", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    address, method, requests = sys.argv[1], sys.argv[2], sys.argv[3:]
    with grpc.insecure_channel(address) as channel:
        call = channel.stream_stream(method)(iter(bytes.fromhex(r) for r in requests), timeout=60)
        responses = []
        try:
            for response in call:
                responses.append(response.hex())
        except grpc.RpcError:
            pass
        code = call.code()
        print(json.dumps({"code_value": code.value[0], "details": call.details(), "responses_hex": responses}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
