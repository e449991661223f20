using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Tests.Peer;

/// <summary>What the scripted peer does with one request.</summary>
public abstract record PeerAction
{
    public static PeerAction Ignore { get; } = new IgnoreAction();

    public static PeerAction Drop { get; } = new DropAction();

    public static PeerAction Reply(CqlOpcode opcode, byte[] body) => new ReplyAction(opcode, body);

    /// <summary>Answer on the request's stream id with this opcode and body, in a frame of this version byte.</summary>
    public sealed record ReplyAction(CqlOpcode Opcode, byte[] Body, byte Version = CqlFrameHeader.ResponseVersion) : PeerAction;

    /// <summary>Write these bytes as they are, whatever frame they make or break.</summary>
    public sealed record RawAction(byte[] Bytes) : PeerAction;

    /// <summary>Never answer.</summary>
    public sealed record IgnoreAction : PeerAction;

    /// <summary>Close the connection without answering.</summary>
    public sealed record DropAction : PeerAction;
}
