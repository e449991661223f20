"""Encodes request frames with the DataStax Python driver (Debian python3-cassandra) and prints
them as JSON {case: hex}, so the C# codec can be compared with an implementation that is not ours.
Run with /usr/bin/python3 (the Debian interpreter that sees python3-cassandra)."""
import json
import struct

from cassandra import ConsistencyLevel
from cassandra.protocol import (AuthResponseMessage, BatchMessage, ExecuteMessage, OptionsMessage,
                                PrepareMessage, ProtocolHandler, QueryMessage, StartupMessage)
from cassandra.query import BatchType

try:
    from cassandra.encoder import _UNSET_VALUE as UNSET
except ImportError:
    from cassandra.query import UNSET_VALUE as UNSET


def frame(message, stream):
    return ProtocolHandler.encode_message(message, stream, 4, None, False).hex()


query = QueryMessage("SELECT v FROM t WHERE k=?", ConsistencyLevel.LOCAL_QUORUM,
                     serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL, fetch_size=5000,
                     paging_state=b"\xab\xcd", timestamp=0x0005E54C3D5E1A00)
query.query_params = [b"a"]

cases = {
    "startup": frame(StartupMessage(cqlversion="3.0.0", options={}), 1),
    "options": frame(OptionsMessage(), 7),
    "auth_response": frame(AuthResponseMessage(b"\x00cass\x00word"), 2),
    "query": frame(query, 4),
    "prepare": frame(PrepareMessage("INSERT INTO t (k) VALUES (?) ;"), 5),
    "execute": frame(ExecuteMessage(b"\xca\xfe", [struct.pack(">i", 42), None, UNSET],
                                    ConsistencyLevel.LOCAL_QUORUM, timestamp=12345), 256),
    "batch": frame(BatchMessage(BatchType.UNLOGGED,
                                [(False, "UPDATE t ?;", [b"x"]), (True, b"\xca\xfe", [struct.pack(">q", 7)])],
                                ConsistencyLevel.QUORUM, timestamp=99), 6),
    "batch_serial": frame(BatchMessage(BatchType.LOGGED, [(True, b"\x07", [])], ConsistencyLevel.ALL,
                                       serial_consistency_level=ConsistencyLevel.SERIAL, timestamp=1), 8),
}
print(json.dumps(cases))
