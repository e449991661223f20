namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>Frame header flags (spec section 2.2).</summary>
[Flags]
public enum CqlFrameFlags : byte
{
    None = 0x00,
    Compression = 0x01,
    Tracing = 0x02,
    CustomPayload = 0x04,
    Warning = 0x08,
}
