"""A real gRPC server (Debian's python3-grpcio) for the upstream sink's interop test.

Serves wal.test.Items/Put (prints what it received) and wal.test.Items/Unavailable (fails with
UNAVAILABLE) on 127.0.0.1:<port>, with raw-bytes messages, so no generated code is needed.
"""
import sys
from concurrent import futures

import grpc


def put(request, context):
    metadata = dict(context.invocation_metadata())
    print("RECV", metadata.get("wal-delivery-id", "-"), metadata.get("wal-version", "-"), request.hex(), flush=True)
    return b""


def unavailable(request, context):
    context.abort(grpc.StatusCode.UNAVAILABLE, "down on purpose")


def main():
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handlers = {
        "Put": grpc.unary_unary_rpc_method_handler(put),
        "Unavailable": grpc.unary_unary_rpc_method_handler(unavailable),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("wal.test.Items", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("READY", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
