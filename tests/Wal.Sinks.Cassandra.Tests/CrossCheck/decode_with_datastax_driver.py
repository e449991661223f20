"""Decodes response frames with the DataStax Python driver (Debian python3-cassandra).
Reads JSON {case: hex frame} on stdin, prints JSON {case: plain summary of what the driver read}.
Run with /usr/bin/python3."""
import datetime
import json
import sys
import uuid

from cassandra.policies import WriteType
from cassandra.protocol import ProtocolHandler


def plain(value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=datetime.timezone.utc).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def summary(message):
    name = type(message).__name__
    if name == "AuthenticateMessage":
        return {"authenticator": message.authenticator}
    if hasattr(message, "kind"):  # ResultMessage, or the compiled FastResultMessage
        if message.kind == 2:
            return {"columns": list(message.column_names),
                    "rows": [[plain(v) for v in row] for row in message.parsed_rows]}
        if message.kind == 4:
            return {"id": message.query_id.hex(), "pk": list(message.pk_indexes or []),
                    "variables": [m[2] for m in message.bind_metadata],
                    "types": [m[3].typename for m in message.bind_metadata]}
        if message.kind == 5:
            return {k: plain(v) for k, v in message.schema_change_event.items()}
    if hasattr(message, "code"):
        info = message.info
        info = {k: plain(v) for k, v in info.items()} if isinstance(info, dict) else plain(info)
        if isinstance(info, dict) and "write_type" in info:
            info["write_type"] = WriteType.value_to_name[info["write_type"]]
        return {"code": message.code, "message": message.summary, "info": info}
    return {"type": name}


frames = json.load(sys.stdin)
out = {}
for case, hexframe in frames.items():
    raw = bytes.fromhex(hexframe)
    flags, stream, opcode = raw[1], int.from_bytes(raw[2:4], "big", signed=True), raw[4]
    message = ProtocolHandler.decode_message(4, {}, stream, flags, opcode, raw[9:], None, None)
    out[case] = summary(message)
print(json.dumps(out, sort_keys=True))
