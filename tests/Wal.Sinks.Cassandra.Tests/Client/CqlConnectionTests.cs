using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Tests.Peer;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Client;

/// <summary>The client end to end against the scripted peer over real TCP.</summary>
public sealed class CqlConnectionTests
{
    private static readonly byte[] StatementId = [0xAB, 0x01];

    [Fact]
    public async Task OpenAsync_ServerReady_SendsStartupFirst()
    {
        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);

        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var startup = Assert.Single(peer.Received);
        Assert.Equal(CqlOpcode.Startup, startup.Opcode);
        Assert.Equal(CqlFrameHeader.RequestVersion, startup.Header.Version);
        Assert.Equal(CqlFrameCodec.EncodeRequest(StartupRequest.Default, startup.Header.Stream)[CqlFrameHeader.Size..], startup.Body);
        Assert.False(connection.IsClosed);
    }

    [Fact]
    public async Task OpenAsync_ServerRequiresPassword_AuthenticatesWithSaslPlain()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode switch
        {
            CqlOpcode.Startup => PeerReplies.Authenticate("org.apache.cassandra.auth.PasswordAuthenticator"),
            CqlOpcode.AuthResponse => PeerReplies.AuthSuccess(),
            _ => ScriptedCqlPeer.Default(f),
        });

        await using var connection = await CqlConnection.OpenAsync(Options(peer) with { Username = "wal", Password = "s3cret" });
        var response = await connection.QueryAsync("SELECT 1", new CqlQueryParameters(CqlConsistency.One));

        Assert.IsType<VoidResult>(response);
        var auth = Assert.Single(peer.ReceivedOf(CqlOpcode.AuthResponse));
        Assert.Equal("\0wal\0s3cret"u8.ToArray(), auth.Token);
    }

    [Fact]
    public async Task OpenAsync_PasswordRejected_ThrowsNonRetriableAuthenticationError()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode switch
        {
            CqlOpcode.Startup => PeerReplies.Authenticate("org.apache.cassandra.auth.PasswordAuthenticator"),
            _ => PeerReplies.Error(CqlErrorCode.AuthenticationError, "Provided username wal and/or password are incorrect"),
        });

        var e = await Assert.ThrowsAsync<CqlServerErrorException>(() => CqlConnection.OpenAsync(Options(peer) with { Username = "wal", Password = "bad" }));

        Assert.Equal(CqlErrorCode.AuthenticationError, e.Error.Code);
        Assert.False(e.IsRetriable);
    }

    [Fact]
    public async Task OpenAsync_PasswordRequiredButNoneConfigured_ThrowsAuthenticationException()
    {
        await using var peer = new ScriptedCqlPeer(_ => PeerReplies.Authenticate("org.apache.cassandra.auth.PasswordAuthenticator"));

        var e = await Assert.ThrowsAsync<CqlAuthenticationException>(() => CqlConnection.OpenAsync(Options(peer)));

        Assert.False(e.IsRetriable);
        Assert.Empty(peer.ReceivedOf(CqlOpcode.AuthResponse));
    }

    [Fact]
    public async Task OpenAsync_NothingListening_ThrowsRetriableConnectionException()
    {
        int port;
        await using (var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default))
        {
            port = peer.Port;
        }

        var e = await Assert.ThrowsAsync<CqlConnectionException>(() => CqlConnection.OpenAsync(new CqlConnectionOptions("127.0.0.1", port)));

        Assert.True(e.IsRetriable);
    }

    [Fact]
    public async Task OptionsAsync_Supported_ReadsCqlVersions()
    {
        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var supported = await connection.OptionsAsync();

        Assert.Equal(["3.0.0"], supported.Options["CQL_VERSION"]);
    }

    [Fact]
    public async Task PrepareThenExecute_BoundValues_ExecuteCarriesIdConsistencyAndValues()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Prepare
            ? PeerReplies.Prepared(StatementId, ("k", CqlTypeCode.Varchar), ("n", CqlTypeCode.Bigint))
            : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var prepared = await connection.PrepareAsync("INSERT INTO ks.t (k, n) VALUES (?, ?)");
        var response = await connection.ExecuteAsync(prepared.Id, new CqlQueryParameters(CqlConsistency.Quorum) { Values = [CqlTypeCodec.Text("key"), CqlTypeCodec.Bigint(5)] });

        Assert.IsType<VoidResult>(response);
        Assert.Equal("INSERT INTO ks.t (k, n) VALUES (?, ?)", Assert.Single(peer.ReceivedOf(CqlOpcode.Prepare)).Query);
        var (id, consistency, values) = Assert.Single(peer.ReceivedOf(CqlOpcode.Execute)).Execute;
        Assert.Equal(StatementId, id);
        Assert.Equal(CqlConsistency.Quorum, consistency);
        Assert.Equal([(byte[]?)"key"u8.ToArray(), [0, 0, 0, 0, 0, 0, 0, 5]], values);
    }

    [Fact]
    public async Task QueryAsync_RowsResult_DecodesRows()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query ? PeerReplies.BigintRows(7, 8) : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var rows = Assert.IsType<RowsResult>(await connection.QueryAsync("SELECT n FROM ks.t", new CqlQueryParameters(CqlConsistency.One)));

        Assert.Equal([7L, 8L], rows.Rows.Select(r => (long)r.Get("n")!));
    }

    [Fact]
    public async Task SendAsync_ConcurrentRequestsAnsweredInReverse_EachGetsItsOwnResponse()
    {
        var gates = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        await using var peer = new ScriptedCqlPeer(async f =>
        {
            if (f.Opcode != CqlOpcode.Query)
            {
                return ScriptedCqlPeer.Default(f);
            }

            var n = int.Parse(f.Query[^1..], System.Globalization.CultureInfo.InvariantCulture);
            await gates[n].Task;
            return PeerReplies.BigintRows(n * 100);
        });
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var queries = Enumerable.Range(0, 3).Select(n => connection.QueryAsync($"SELECT {n}", new CqlQueryParameters(CqlConsistency.One))).ToArray();
        await peer.WaitForAsync(_ => peer.ReceivedOf(CqlOpcode.Query).Count == 3);
        for (var n = 2; n >= 0; n--)
        {
            gates[n].SetResult();
            await queries[n];
            Assert.All(queries[..n], q => Assert.False(q.IsCompleted));
        }

        for (var n = 0; n < 3; n++)
        {
            Assert.Equal(n * 100L, Assert.IsType<RowsResult>(await queries[n]).Rows.Single().Get("n"));
        }

        Assert.Equal(3, peer.ReceivedOf(CqlOpcode.Query).Select(f => f.Header.Stream).Distinct().Count());
    }

    [Fact]
    public async Task OpenAsync_HandshakeSlowerThanTheRequestTimeout_BoundedByTheConnectTimeoutInstead()
    {
        // Connecting takes the connect timeout; a short request timeout (for queries) used to fail slow handshakes.
        await using var slow = new ScriptedCqlPeer(async f =>
        {
            if (f.Opcode == CqlOpcode.Startup)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(400)); // the slow handshake is the scenario
            }

            return ScriptedCqlPeer.Default(f);
        });
        await using var silent = new ScriptedCqlPeer(f => PeerAction.Ignore);

        await using var connection = await CqlConnection.OpenAsync(Options(slow) with { RequestTimeout = TimeSpan.FromMilliseconds(100) });
        var refused = await Assert.ThrowsAsync<CqlRequestTimeoutException>(() =>
            CqlConnection.OpenAsync(Options(silent) with { ConnectTimeout = TimeSpan.FromMilliseconds(300), RequestTimeout = TimeSpan.FromSeconds(30) }));

        Assert.False(connection.IsClosed);
        Assert.Contains("300 ms", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_NodeAnswersStartupInV3_FailsNotRetriableWithItsMessage()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4() : ScriptedCqlPeer.Default(f));

        var e = await Assert.ThrowsAsync<CqlProtocolVersionException>(() => CqlConnection.OpenAsync(Options(peer)));

        Assert.False(e.IsRetriable);
        Assert.Contains("protocol v3", e.Message, StringComparison.Ordinal);
        Assert.Contains("0x000A Invalid or unsupported protocol version: 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_NodeAnswersStartupInV2_FailsNotRetriableWithItsMessage()
    {
        // A v2 header is 8 bytes: read as v4's 9, its length took a body byte and named 256 times the body.
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4InV2() : ScriptedCqlPeer.Default(f));

        var e = await Assert.ThrowsAsync<CqlProtocolVersionException>(() => CqlConnection.OpenAsync(Options(peer) with { ConnectTimeout = TimeSpan.FromSeconds(2) }));

        Assert.False(e.IsRetriable);
        Assert.Contains("protocol v2", e.Message, StringComparison.Ordinal);
        Assert.Contains("0x000A Invalid or unsupported protocol version: 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryAsync_FrameOfAnotherVersionAfterV4Answers_IsALostConnectionAndRetriable()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query ? PeerReplies.InV3(PeerReplies.Void()) : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var e = await Assert.ThrowsAsync<CqlConnectionException>(() => connection.QueryAsync("SELECT 1", new CqlQueryParameters(CqlConsistency.One)));

        Assert.True(e.IsRetriable);
        Assert.True(connection.IsClosed);
    }

    [Fact]
    public async Task QueryAsync_RowCountBeyondTheFrame_FailsThatRequestAsProtocolErrorAndTheConnectionGoesOn()
    {
        byte[] corrupt = [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF]; // Rows, No_metadata, 1 column, 2^31-1 rows, no data
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query && f.Query == "CORRUPT"
            ? PeerAction.Reply(CqlOpcode.Result, corrupt)
            : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        await Assert.ThrowsAsync<CqlProtocolException>(() => connection.QueryAsync("CORRUPT", new CqlQueryParameters(CqlConsistency.One)));

        // The frame was whole, so the stream is still in step: only that request failed.
        Assert.False(connection.IsClosed);
        Assert.IsType<VoidResult>(await connection.QueryAsync("NEXT", new CqlQueryParameters(CqlConsistency.One)));
    }

    [Fact]
    public async Task SendAsync_NoAnswerWithinTimeout_ThrowsRetriableTimeoutAndConnectionStaysUsable()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query && f.Query == "SLOW" ? PeerAction.Ignore : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer) with { RequestTimeout = TimeSpan.FromMilliseconds(300) });

        var e = await Assert.ThrowsAsync<CqlRequestTimeoutException>(() => connection.QueryAsync("SLOW", new CqlQueryParameters(CqlConsistency.One)));

        Assert.True(e.IsRetriable);
        Assert.IsType<VoidResult>(await connection.QueryAsync("FAST", new CqlQueryParameters(CqlConsistency.One)));
    }

    [Fact]
    public async Task SendAsync_NodeStopsReading_TimesOutWithinTheRequestTimeoutAndClosesTheConnection()
    {
        // A node that answers STARTUP, then never reads again (a hung process, a full receive window):
        // the request's write cannot finish, and a frame cut off half-way cannot be taken back.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var release = new TaskCompletionSource();
        var node = Task.Run(async () =>
        {
            using var stream = await AcceptAndAnswerStartupAsync(listener);
            await release.Task;
        });
        var options = new CqlConnectionOptions("127.0.0.1", ((System.Net.IPEndPoint)listener.LocalEndpoint).Port) { RequestTimeout = TimeSpan.FromSeconds(1) };
        await using var connection = await CqlConnection.OpenAsync(options);
        // Far more than the two sockets' buffers hold.
        var query = "INSERT INTO ks.t (k, v) VALUES (1, '" + new string('x', 64 * 1024 * 1024) + "')";

        try
        {
            var e = await Assert.ThrowsAsync<CqlRequestTimeoutException>(() => connection.QueryAsync(query, new CqlQueryParameters(CqlConsistency.One)).WaitAsync(TimeSpan.FromSeconds(15)));

            Assert.True(e.IsRetriable);
            Assert.True(connection.IsClosed);
        }
        finally
        {
            release.TrySetResult();
            await node;
        }
    }

    [Fact]
    public async Task SendAsync_CallerCancelsDuringItsWrite_HealthyNode_TheConnectionAndOtherRequestsGoOn()
    {
        // Only the request timeout means "the node stopped reading"; a caller giving up mid-write
        // waits for its frame to go out whole, and the connection stays.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var heldReceived = new TaskCompletionSource();
        var bigStarted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var node = Task.Run(async () =>
        {
            using var stream = await AcceptAndAnswerStartupAsync(listener);
            var header = new byte[CqlFrameHeader.Size];
            // HELD is answered once the node has read the big frame after it, at full speed.
            await stream.ReadExactlyAsync(header);
            var held = CqlFrameHeader.Read(header);
            await stream.ReadExactlyAsync(new byte[held.Length]);
            heldReceived.TrySetResult();
            await stream.ReadExactlyAsync(header);
            bigStarted.TrySetResult();
            await stream.ReadExactlyAsync(new byte[CqlFrameHeader.Read(header).Length]);
            await stream.WriteAsync(CqlFrameCodec.Encode(CqlFrameHeader.ResponseVersion, CqlFrameFlags.None, held.Stream, CqlOpcode.Result, w => w.WriteRaw([0, 0, 0, 1])));
            await release.Task;
        });
        var options = new CqlConnectionOptions("127.0.0.1", ((System.Net.IPEndPoint)listener.LocalEndpoint).Port) { RequestTimeout = TimeSpan.FromSeconds(10) };
        await using var connection = await CqlConnection.OpenAsync(options);
        var heldQuery = connection.QueryAsync("HELD", new CqlQueryParameters(CqlConsistency.One));
        await heldReceived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource();
        var bigQuery = connection.QueryAsync("INSERT INTO ks.t (k, v) VALUES (1, '" + new string('x', 64 * 1024 * 1024) + "')", new CqlQueryParameters(CqlConsistency.One), cancel.Token);
        await bigStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bigQuery);
        Assert.IsType<VoidResult>(await heldQuery);
        Assert.False(connection.IsClosed);
        release.TrySetResult();
        await node.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task SendAsync_LateAnswerAfterTimeout_IsNotTakenForTheNextRequest()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = new ScriptedCqlPeer(async f =>
        {
            if (f.Opcode == CqlOpcode.Query && f.Query == "LATE")
            {
                await release.Task;
                return PeerReplies.BigintRows(1);
            }

            return f.Opcode == CqlOpcode.Query ? PeerReplies.BigintRows(2) : ScriptedCqlPeer.Default(f);
        });
        await using var connection = await CqlConnection.OpenAsync(Options(peer) with { RequestTimeout = TimeSpan.FromMilliseconds(300) });

        await Assert.ThrowsAsync<CqlRequestTimeoutException>(() => connection.QueryAsync("LATE", new CqlQueryParameters(CqlConsistency.One)));
        // While the late answer is still owed, its stream id stays taken.
        var next = Assert.IsType<RowsResult>(await connection.QueryAsync("NEXT", new CqlQueryParameters(CqlConsistency.One)));
        release.SetResult();
        // Sent as the late answer comes back: before it, on another id; after it, maybe on the
        // freed one. Either way it gets its own answer.
        var after = Assert.IsType<RowsResult>(await connection.QueryAsync("AFTER", new CqlQueryParameters(CqlConsistency.One)));

        Assert.Equal(2L, next.Rows.Single().Get("n"));
        Assert.Equal(2L, after.Rows.Single().Get("n"));
        var streams = peer.ReceivedOf(CqlOpcode.Query).Select(f => f.Header.Stream).ToList();
        Assert.NotEqual(streams[0], streams[1]);
    }

    [Fact]
    public async Task SendAsync_AllStreamIdsInUse_WaitsForOneToBeAnswered()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = new ScriptedCqlPeer(async f =>
        {
            if (f.Opcode == CqlOpcode.Query && f.Query == "FIRST")
            {
                await release.Task;
            }

            return ScriptedCqlPeer.Default(f);
        });
        await using var connection = await CqlConnection.OpenAsync(Options(peer) with { MaxConcurrentRequests = 1 });

        var first = connection.QueryAsync("FIRST", new CqlQueryParameters(CqlConsistency.One));
        await peer.WaitForAsync(f => f.Opcode == CqlOpcode.Query);
        var second = connection.QueryAsync("SECOND", new CqlQueryParameters(CqlConsistency.One));
        await Task.Delay(100); // a window for SECOND to be sent wrongly; absence cannot be polled for
        var sentBeforeRelease = peer.ReceivedOf(CqlOpcode.Query).Count;
        release.SetResult();

        Assert.IsType<VoidResult>(await second);
        Assert.IsType<VoidResult>(await first);
        Assert.Equal(1, sentBeforeRelease);
        Assert.All(peer.ReceivedOf(CqlOpcode.Query), f => Assert.Equal(0, f.Header.Stream));
    }

    [Fact]
    public async Task SendAsync_HalfTheStreamIdsNeverAnswered_ClosesTheConnectionAsStuck()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query ? PeerAction.Ignore : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer) with { MaxConcurrentRequests = 4, RequestTimeout = TimeSpan.FromMilliseconds(100) });

        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<CqlRequestTimeoutException>(() => connection.QueryAsync("Q", new CqlQueryParameters(CqlConsistency.One)));
            Assert.False(connection.IsClosed);
        }

        await Assert.ThrowsAsync<CqlRequestTimeoutException>(() => connection.QueryAsync("Q", new CqlQueryParameters(CqlConsistency.One)));

        Assert.True(connection.IsClosed);
        await Assert.ThrowsAsync<CqlConnectionException>(() => connection.QueryAsync("Q", new CqlQueryParameters(CqlConsistency.One)));
    }

    [Fact]
    public async Task SendAsync_CallerCancels_ThrowsOperationCanceled()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query ? PeerAction.Ignore : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.QueryAsync("SELECT", new CqlQueryParameters(CqlConsistency.One), cancel.Token));
    }

    [Fact]
    public async Task SendAsync_ConnectionDropped_FailsEveryPendingRequestAsRetriable()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode switch
        {
            CqlOpcode.Query when f.Query == "DROP" => PeerAction.Drop,
            CqlOpcode.Query => PeerAction.Ignore,
            _ => ScriptedCqlPeer.Default(f),
        });
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var pending = new[] { "A", "B" }.Select(q => connection.QueryAsync(q, new CqlQueryParameters(CqlConsistency.One))).ToArray();
        await peer.WaitForAsync(_ => peer.ReceivedOf(CqlOpcode.Query).Count == 2);
        var dropping = connection.QueryAsync("DROP", new CqlQueryParameters(CqlConsistency.One));

        foreach (var request in pending.Append(dropping))
        {
            var e = await Assert.ThrowsAsync<CqlConnectionException>(() => request);
            Assert.True(e.IsRetriable);
        }

        Assert.True(connection.IsClosed);
        await Assert.ThrowsAsync<CqlConnectionException>(() => connection.QueryAsync("AFTER", new CqlQueryParameters(CqlConsistency.One)));
    }

    [Theory]
    [InlineData(CqlErrorCode.ServerError, "SIMPLE", true)]
    [InlineData(CqlErrorCode.ProtocolError, "SIMPLE", false)]
    [InlineData(CqlErrorCode.AuthenticationError, "SIMPLE", false)]
    [InlineData(CqlErrorCode.Unavailable, "SIMPLE", true)]
    [InlineData(CqlErrorCode.Overloaded, "SIMPLE", true)]
    [InlineData(CqlErrorCode.IsBootstrapping, "SIMPLE", true)]
    [InlineData(CqlErrorCode.TruncateError, "SIMPLE", true)]
    [InlineData(CqlErrorCode.WriteTimeout, "SIMPLE", true)]
    [InlineData(CqlErrorCode.WriteTimeout, "BATCH", true)]
    [InlineData(CqlErrorCode.WriteTimeout, "UNLOGGED_BATCH", true)]
    [InlineData(CqlErrorCode.WriteTimeout, "BATCH_LOG", true)]
    [InlineData(CqlErrorCode.WriteTimeout, "COUNTER", false)]
    [InlineData(CqlErrorCode.ReadTimeout, "SIMPLE", true)]
    [InlineData(CqlErrorCode.ReadFailure, "SIMPLE", false)]
    [InlineData(CqlErrorCode.FunctionFailure, "SIMPLE", false)]
    [InlineData(CqlErrorCode.WriteFailure, "SIMPLE", true)]
    [InlineData(CqlErrorCode.WriteFailure, "COUNTER", false)]
    [InlineData(CqlErrorCode.SyntaxError, "SIMPLE", false)]
    [InlineData(CqlErrorCode.Unauthorized, "SIMPLE", false)]
    [InlineData(CqlErrorCode.Invalid, "SIMPLE", false)]
    [InlineData(CqlErrorCode.ConfigError, "SIMPLE", false)]
    [InlineData(CqlErrorCode.AlreadyExists, "SIMPLE", false)]
    [InlineData(CqlErrorCode.Unprepared, "SIMPLE", true)]
    public async Task QueryAsync_ServerError_ThrowsTypedErrorWithItsClassification(CqlErrorCode code, string writeType, bool retriable)
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Query ? PeerReplies.ErrorWithDetails(code, writeType) : ScriptedCqlPeer.Default(f));
        await using var connection = await CqlConnection.OpenAsync(Options(peer));

        var e = await Assert.ThrowsAsync<CqlServerErrorException>(() => connection.QueryAsync("Q", new CqlQueryParameters(CqlConsistency.One)));

        Assert.Equal(code, e.Error.Code);
        Assert.Equal(retriable, e.IsRetriable);
        Assert.False(connection.IsClosed);
        if (code is CqlErrorCode.WriteTimeout)
        {
            Assert.Equal(writeType, Assert.IsType<WriteTimeoutDetails>(e.Error.Details).WriteType);
        }
    }

    private static CqlConnectionOptions Options(ScriptedCqlPeer peer) => new("127.0.0.1", peer.Port) { RequestTimeout = TimeSpan.FromSeconds(10) };

    // A raw node on the far side of a real socket: it answers STARTUP with READY, then the test drives it.
    private static async Task<System.Net.Sockets.NetworkStream> AcceptAndAnswerStartupAsync(System.Net.Sockets.TcpListener listener)
    {
        var stream = new System.Net.Sockets.NetworkStream(await listener.AcceptSocketAsync(), ownsSocket: true);
        var header = new byte[CqlFrameHeader.Size];
        await stream.ReadExactlyAsync(header);
        var startup = CqlFrameHeader.Read(header);
        await stream.ReadExactlyAsync(new byte[startup.Length]);
        await stream.WriteAsync(CqlFrameCodec.Encode(CqlFrameHeader.ResponseVersion, CqlFrameFlags.None, startup.Stream, CqlOpcode.Ready, _ => { }));
        return stream;
    }
}
