using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Tests.Peer;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Client;

public sealed class CqlSessionTests
{
    private const string Insert = "INSERT INTO ks.t (k) VALUES (?)";
    private static readonly byte[] OldId = [0x01];
    private static readonly byte[] NewId = [0x02];

    [Fact]
    public async Task ExecuteAsync_NodeAnswersUnprepared_PreparesAgainAndRetriesWithTheNewId()
    {
        var prepares = 0;
        await using var peer = new ScriptedCqlPeer(f => f.Opcode switch
        {
            CqlOpcode.Prepare => PeerReplies.Prepared(Interlocked.Increment(ref prepares) == 1 ? OldId : NewId, ("k", CqlTypeCode.Varchar)),
            CqlOpcode.Execute when f.Execute.Id.SequenceEqual(OldId) => PeerReplies.Error(CqlErrorCode.Unprepared, "forgotten", w => w.WriteShortBytes(OldId)),
            _ => ScriptedCqlPeer.Default(f),
        });
        await using var session = new CqlSession(Options(peer));

        var statement = await session.PrepareAsync(Insert);
        var response = await session.ExecuteAsync(statement, Parameters());

        Assert.IsType<VoidResult>(response);
        Assert.Equal(
            [CqlOpcode.Startup, CqlOpcode.Prepare, CqlOpcode.Execute, CqlOpcode.Prepare, CqlOpcode.Execute],
            peer.Received.Select(f => f.Opcode));
        Assert.Equal(NewId, peer.ReceivedOf(CqlOpcode.Execute)[1].Execute.Id);
        Assert.Equal(NewId, (await session.PrepareAsync(Insert)).Id.ToArray());
    }

    [Fact]
    public async Task PrepareAsync_SameQueryTwice_PreparesOnce()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Prepare ? PeerReplies.Prepared(OldId, ("k", CqlTypeCode.Varchar)) : ScriptedCqlPeer.Default(f));
        await using var session = new CqlSession(Options(peer));

        await session.PrepareAsync(Insert);
        await session.PrepareAsync(Insert);

        Assert.Single(peer.ReceivedOf(CqlOpcode.Prepare));
    }

    [Fact]
    public async Task BatchAsync_NodeAnswersUnprepared_PreparesAgainAndRetries()
    {
        var prepares = 0;
        await using var peer = new ScriptedCqlPeer(f => f.Opcode switch
        {
            CqlOpcode.Prepare => PeerReplies.Prepared(Interlocked.Increment(ref prepares) == 1 ? OldId : NewId, ("k", CqlTypeCode.Varchar)),
            CqlOpcode.Batch when prepares == 1 => PeerReplies.Error(CqlErrorCode.Unprepared, "forgotten", w => w.WriteShortBytes(OldId)),
            _ => ScriptedCqlPeer.Default(f),
        });
        await using var session = new CqlSession(Options(peer));
        var statement = await session.PrepareAsync(Insert);

        var response = await session.BatchAsync(new BatchRequest(
            CqlBatchType.Logged,
            [CqlBatchStatement.Prepared(statement.Id, [CqlTypeCodec.Text("a")]), CqlBatchStatement.Simple("DELETE FROM ks.t WHERE k = 'b'", [])],
            CqlConsistency.LocalQuorum) { DefaultTimestamp = 42 });

        Assert.IsType<VoidResult>(response);
        Assert.Equal(2, peer.ReceivedOf(CqlOpcode.Batch).Count);
        Assert.Equal(2, peer.ReceivedOf(CqlOpcode.Prepare).Count);
    }

    [Fact]
    public async Task GetConnectionAsync_AfterConnectionLost_ReconnectsOnNextUse()
    {
        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);
        var log = new RecordingLogger<CqlSession>();
        await using var session = new CqlSession(Options(peer), log);
        var first = await session.GetConnectionAsync();

        peer.DropAll();
        await Eventually.WaitUntilAsync(() => first.IsClosed, TimeSpan.FromSeconds(10), "the first connection to close");
        var response = await session.QueryAsync("SELECT 1", Parameters());

        Assert.IsType<VoidResult>(response);
        Assert.Equal(2, peer.Connections);
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("was lost", StringComparison.Ordinal));
        Assert.Equal(2, log.Entries.Count(e => e.Message.StartsWith("Connected to Cassandra", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GetConnectionAsync_FirstContactPointDown_UsesTheNext()
    {
        int deadPort;
        await using (var dead = new ScriptedCqlPeer(ScriptedCqlPeer.Default))
        {
            deadPort = dead.Port;
        }

        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);
        await using var session = new CqlSession(new CqlSessionOptions { ContactPoints = [$"127.0.0.1:{deadPort}", peer.ContactPoint] });

        var connection = await session.GetConnectionAsync();

        Assert.Equal(peer.ContactPoint, connection.Endpoint);
    }

    [Fact]
    public async Task GetConnectionAsync_FirstContactPointSpeaksOnlyV3_UsesTheNext()
    {
        await using var old = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4() : ScriptedCqlPeer.Default(f));
        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);
        await using var session = new CqlSession(new CqlSessionOptions { ContactPoints = [old.ContactPoint, peer.ContactPoint] });

        var connection = await session.GetConnectionAsync();

        Assert.Equal(peer.ContactPoint, connection.Endpoint);
    }

    [Fact]
    public async Task GetConnectionAsync_EveryContactPointSpeaksOnlyV3_FailsNotRetriable()
    {
        await using var first = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4() : ScriptedCqlPeer.Default(f));
        await using var second = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4() : ScriptedCqlPeer.Default(f));
        await using var session = new CqlSession(new CqlSessionOptions { ContactPoints = [first.ContactPoint, second.ContactPoint] });

        var e = await Assert.ThrowsAsync<CqlProtocolVersionException>(() => session.GetConnectionAsync());

        Assert.False(e.IsRetriable);
        Assert.Equal(1, second.Connections);
    }

    [Theory]
    [InlineData("cass1", "cass1", 9042)]
    [InlineData("10.0.0.7:19042", "10.0.0.7", 19042)]
    [InlineData("[::1]:9043", "::1", 9043)]
    [InlineData("::1", "::1", 9042)]
    public void ForContactPoint_Forms_ParseHostAndPort(string contactPoint, string host, int port)
    {
        var options = new CqlSessionOptions { ContactPoints = [contactPoint] }.ForContactPoint(contactPoint);

        Assert.Equal((host, port), (options.Host, options.Port));
    }

    [Fact]
    public void Constructor_NoContactPoints_ThrowsNamingTheProblem()
    {
        var e = Assert.Throws<ArgumentException>(() => new CqlSession(new CqlSessionOptions()));

        Assert.Contains("contact point", e.Message, StringComparison.Ordinal);
    }

    private static CqlQueryParameters Parameters() => new(CqlConsistency.One) { Values = [CqlTypeCodec.Text("a")] };

    private static CqlSessionOptions Options(ScriptedCqlPeer peer) => new() { ContactPoints = [peer.ContactPoint] };
}
