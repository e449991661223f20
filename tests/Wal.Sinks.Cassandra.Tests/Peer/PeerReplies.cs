using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Peer;

/// <summary>Response bodies the scripted peer sends, laid out as spec section 4.2 says.</summary>
public static class PeerReplies
{
    public static PeerAction Ready() => PeerAction.Reply(CqlOpcode.Ready, []);

    public static PeerAction Authenticate(string authenticator) =>
        PeerAction.Reply(CqlOpcode.Authenticate, Body(w => w.WriteString(authenticator)));

    public static PeerAction AuthSuccess() => PeerAction.Reply(CqlOpcode.AuthSuccess, Body(w => w.WriteNullBytes()));

    public static PeerAction Void() => PeerAction.Reply(CqlOpcode.Result, Body(w => w.WriteInt(0x0001)));

    /// <summary>A Prepared result; variables are (name, type) in bind-marker order, all in ks.t.</summary>
    public static PeerAction Prepared(byte[] id, params (string Name, CqlTypeCode Type)[] variables) =>
        PeerAction.Reply(CqlOpcode.Result, Body(w =>
        {
            w.WriteInt(0x0004);
            w.WriteShortBytes(id);
            w.WriteInt(0x0001); // Global_tables_spec
            w.WriteInt(variables.Length);
            w.WriteInt(0); // no partition key indexes
            w.WriteString("ks");
            w.WriteString("t");
            foreach (var (name, type) in variables)
            {
                w.WriteString(name);
                w.WriteShort((ushort)type);
            }

            w.WriteInt(0x0004); // result metadata: No_metadata
            w.WriteInt(0);
        }));

    /// <summary>A Rows result of one bigint column "n" holding the given values.</summary>
    public static PeerAction BigintRows(params long[] values) =>
        PeerAction.Reply(CqlOpcode.Result, Body(w =>
        {
            w.WriteInt(0x0002);
            w.WriteInt(0x0001);
            w.WriteInt(1);
            w.WriteString("ks");
            w.WriteString("t");
            w.WriteString("n");
            w.WriteShort((ushort)CqlTypeCode.Bigint);
            w.WriteInt(values.Length);
            foreach (var value in values)
            {
                w.WriteInt(8);
                w.WriteLong(value);
            }
        }));

    /// <summary>An ERROR with its code, message and whatever extra content the code has.</summary>
    public static PeerAction Error(CqlErrorCode code, string message, Action<CqlWriter>? details = null) =>
        PeerAction.Reply(CqlOpcode.Error, Body(w =>
        {
            w.WriteInt((int)code);
            w.WriteString(message);
            details?.Invoke(w);
        }));

    /// <summary>
    /// What a node that speaks at most v3 (Cassandra 2.1) answers a v4 STARTUP: Protocol_error in a
    /// frame of its own version.
    /// </summary>
    public static PeerAction RefuseV4() => InV3(Error(CqlErrorCode.ProtocolError, "Invalid or unsupported protocol version: 4"));

    /// <summary>
    /// What a node that speaks at most v2 (Cassandra 2.0) answers a v4 STARTUP: Protocol_error in a v2 frame, whose
    /// header is 8 bytes (a one-byte stream id), not v3's and v4's 9.
    /// </summary>
    public static PeerAction RefuseV4InV2()
    {
        var body = Body(w =>
        {
            w.WriteInt((int)CqlErrorCode.ProtocolError);
            w.WriteString("Invalid or unsupported protocol version: 4");
        });
        var frame = new byte[8 + body.Length];
        frame[0] = 0x82;
        frame[3] = (byte)CqlOpcode.Error;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), body.Length);
        body.CopyTo(frame, 8);
        return new PeerAction.RawAction(frame);
    }

    /// <summary>The same reply in a v3 response frame (version byte 0x83).</summary>
    public static PeerAction InV3(PeerAction reply) => reply is PeerAction.ReplyAction answer
        ? answer with { Version = 0x83 }
        : throw new ArgumentException("Only a reply has a frame.", nameof(reply));

    /// <summary>An ERROR with the spec's extra content for <paramref name="code"/> filled with plausible values.</summary>
    public static PeerAction ErrorWithDetails(CqlErrorCode code, string writeType = "SIMPLE") => Error(code, $"scripted {code}", w =>
    {
        switch (code)
        {
            case CqlErrorCode.Unavailable:
                w.WriteConsistency(CqlConsistency.LocalQuorum);
                w.WriteInt(2);
                w.WriteInt(1);
                break;
            case CqlErrorCode.WriteTimeout:
                w.WriteConsistency(CqlConsistency.LocalQuorum);
                w.WriteInt(1);
                w.WriteInt(2);
                w.WriteString(writeType);
                break;
            case CqlErrorCode.ReadTimeout:
                w.WriteConsistency(CqlConsistency.One);
                w.WriteInt(0);
                w.WriteInt(1);
                w.WriteByte(0);
                break;
            case CqlErrorCode.ReadFailure:
                w.WriteConsistency(CqlConsistency.One);
                w.WriteInt(0);
                w.WriteInt(1);
                w.WriteInt(1);
                w.WriteByte(0);
                break;
            case CqlErrorCode.FunctionFailure:
                w.WriteString("ks");
                w.WriteString("fn");
                w.WriteStringList(["int"]);
                break;
            case CqlErrorCode.WriteFailure:
                w.WriteConsistency(CqlConsistency.Quorum);
                w.WriteInt(1);
                w.WriteInt(2);
                w.WriteInt(1);
                w.WriteString(writeType);
                break;
            case CqlErrorCode.AlreadyExists:
                w.WriteString("ks");
                w.WriteString("t");
                break;
            case CqlErrorCode.Unprepared:
                w.WriteShortBytes([0xDE, 0xAD]);
                break;
        }
    });

    private static byte[] Body(Action<CqlWriter> write)
    {
        var writer = new CqlWriter();
        write(writer);
        return writer.ToArray();
    }
}
