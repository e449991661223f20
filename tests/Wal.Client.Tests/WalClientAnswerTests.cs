using Wal.Schemas.V1;

namespace Wal.Client.Tests;

/// <summary>What each answer a server can give means for the caller's write.</summary>
public sealed class WalClientAnswerTests(ScriptedIngress server) : IClassFixture<ScriptedIngress>
{
    [Fact]
    public async Task Ok_True()
    {
        var response = await WriteAsync("ok");

        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal("ok", response.Id);
    }

    [Theory]
    [InlineData(1)] // CANCELLED
    [InlineData(2)] // UNKNOWN
    [InlineData(4)] // DEADLINE_EXCEEDED
    [InlineData(10)] // ABORTED
    [InlineData(13)] // INTERNAL
    [InlineData(14)] // UNAVAILABLE
    [InlineData(15)] // DATA_LOSS
    [InlineData(17)] // no such code: a proxy's invention
    public async Task StatusAfterTheRequestWasSent_Unknown(int status)
    {
        var response = await WriteAsync($"status:{status}");

        Assert.Equal(Trilean.Unknown, response.Durable);
        Assert.Contains(WalCallException.StatusName(status), response.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3)] // INVALID_ARGUMENT
    [InlineData(5)] // NOT_FOUND
    [InlineData(7)] // PERMISSION_DENIED
    [InlineData(8)] // RESOURCE_EXHAUSTED
    [InlineData(9)] // FAILED_PRECONDITION
    [InlineData(12)] // UNIMPLEMENTED
    [InlineData(16)] // UNAUTHENTICATED
    public async Task Refusal_False(int status)
    {
        var response = await WriteAsync($"status:{status}");

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("scripted refusal", response.Message, StringComparison.Ordinal);
    }

    // A shed write was not written, and the server said when to come back: sending it again then is safe.
    [Fact]
    public async Task ShedWithAPushback_SentAgainAfterItAndTrue()
    {
        const string script = "shed:300:2:twice";
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var response = await WriteAsync(script);

        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal(3, server.Ids.Count(id => id == script));
        // Each attempt waited the pushback the one before it was given.
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(600), "the client came back before the pushback");
    }

    [Theory]
    [InlineData("shed:-1:5:never", 3)] // the server says no retry can ever take it
    [InlineData("shed:none:5:unsaid", 3)] // the server cannot tell when: the caller's own backoff decides
    [InlineData("shed:60000:5:past-deadline", 3)] // the wait would outlast the 10 s deadline
    [InlineData("shed:10:5:attempts-off", 1)]
    public async Task ShedWithoutAUsablePushback_FalseAtTheFirstAnswer(string script, int shedAttempts)
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address, ShedAttempts = shedAttempts });

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = script });

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Single(server.Ids, id => id == script);
    }

    [Fact]
    public async Task ShedMoreTimesThanTheAttempts_FalseAfterTheLast()
    {
        const string script = "shed:10:5:exhausted";

        var response = await WriteAsync(script);

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Equal(3, server.Ids.Count(id => id == script));
    }

    // Every attempt so far was shed, so nothing was written: a caller that gives up while the client waits out the
    // pushback must hear FALSE (CANCELLED), as a call cancelled before its request left does, not UNKNOWN.
    [Fact]
    public async Task ShedThenCallerCancelsDuringThePushback_FalseNotUnknown()
    {
        const string script = "shed:8000:5:cancelled-while-waiting";
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        using var caller = new CancellationTokenSource();
        var writing = client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = script }, caller.Token);
        await Eventually.WaitUntilAsync(() => server.Ids.Contains(script), TimeSpan.FromSeconds(10), "the server to shed the write");
        // The shed answer is read within a moment; the second leaves room for a loaded machine, the 8 s pushback keeps
        // the client waiting well past it.
        caller.CancelAfter(TimeSpan.FromSeconds(1));

        var response = await writing;

        Assert.True(response.Durable == Trilean.False, response.ToString());
        Assert.Contains("shed", response.Message, StringComparison.Ordinal);
        Assert.Single(server.Ids, id => id == script);
    }

    [Fact]
    public async Task StreamShedWithAPushback_SentAgainAsAUnaryCallAfterItAndTrue()
    {
        // Completed at once, as the class's own example does: the write's second attempt outlasts the stream's request side.
        const string script = "stream-shed:300:retried";
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var shed = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = script });
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });

        await stream.CompleteAsync();

        Assert.True(shed.IsCompleted, "CompleteAsync returned before the shed write's second attempt was answered");
        Assert.Equal((Trilean.True, Trilean.True), ((await shed).Durable, (await second).Durable));
        // Once on the stream, once as a unary call after the pushback.
        Assert.Equal(2, server.Ids.Count(id => id == script));
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(300), "the client came back before the pushback");
    }

    [Fact]
    public async Task StreamShedThenTheCallerChangesItsRequest_TheRetrySendsTheWriteAsItWasGiven()
    {
        // The class sends a copy: a caller that reuses its request object once WriteAsync has it must not change what a
        // retry sends. The retry sent the caller's object, as it was by then.
        const string script = "stream-shed:300:copied";
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        var request = new WriteToLogRequest { Namespace = "orders", Id = script };
        var shed = stream.WriteAsync(request);
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });
        request.Id = "ok:reused";

        await stream.CompleteAsync();

        Assert.Equal(Trilean.True, (await shed).Durable);
        Assert.Equal(script, (await shed).Id);
        Assert.Equal(2, server.Ids.Count(id => id == script));
        Assert.DoesNotContain("ok:reused", server.Ids);
    }

    [Theory]
    [InlineData("stream-shed:-1:never", 3)] // no retry can ever take it
    [InlineData("stream-shed:none:unsaid", 3)] // the server cannot tell when
    [InlineData("stream-shed:60000:past-deadline", 3)] // the wait would outlast the client's 10 s deadline
    [InlineData("stream-shed:10:attempts-off", 1)]
    public async Task StreamShedWithoutAUsablePushback_FalseAtTheFirstAnswer(string script, int shedAttempts)
    {
        var (shed, second) = await StreamShedThenCompleteAsync(script, shedAttempts);

        Assert.Equal((Trilean.False, Trilean.True), (shed.Durable, second.Durable));
        Assert.Contains("shed", shed.Message, StringComparison.Ordinal);
        Assert.Single(server.Ids, id => id == script);
    }

    [Fact]
    public async Task StreamShedThenDisposedDuringThePushback_TheRefusalStands()
    {
        const string script = "stream-shed:8000:disposed-while-waiting";
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        var stream = client.OpenWriteStream();
        var shed = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = script });
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });
        Assert.Equal(Trilean.True, (await second).Durable);

        // The shed ack came before the second's; the 8 s pushback keeps the write waiting well past the dispose.
        await stream.DisposeAsync();

        Assert.True(shed.IsCompleted, "DisposeAsync returned before the shed write was answered");
        Assert.Equal(Trilean.False, (await shed).Durable);
        Assert.Single(server.Ids, id => id == script);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task StreamShedAndItsRetriesShedToo_SentShedAttemptsTimesInAll(int shedAttempts)
    {
        // ShedAttempts bounds the attempts of a write the ingress sheds; 1 leaves a stream write at its one attempt. The
        // stream's attempt is the first of them: the unary retry must not bring a whole budget of its own.
        var script = $"stream-shed-again:10:attempts-{shedAttempts}";

        var (shed, second) = await StreamShedThenCompleteAsync(script, shedAttempts);

        Assert.Equal((Trilean.False, Trilean.True), (shed.Durable, second.Durable));
        Assert.Equal(shedAttempts, server.Ids.Count(id => id == script));
    }

    // The stream scripts' two writes, the first naming the script, then CompleteAsync: their answers.
    private async Task<(WriteToLogResponse Shed, WriteToLogResponse Second)> StreamShedThenCompleteAsync(string script, int shedAttempts)
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address, ShedAttempts = shedAttempts });
        await using var stream = client.OpenWriteStream();
        var shed = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = script });
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });
        await stream.CompleteAsync();
        return (await shed, await second);
    }

    [Fact]
    public async Task StreamShedWithAPushback_HoldsItsRoomUntilItsRetryIsAnswered()
    {
        // At most MaxStreamInFlight writes await their answers: a shed write waiting out its pushback, then retried, still
        // awaits one. Its room given back at the shed, the next write went out at once, and a producer pipelining into a
        // namespace over its rate had every write shed and parked, then retried all at once as unary calls.
        const string script = "stream-shed-one:300:bounded";
        using var client = new WalClient(new WalClientOptions { Address = server.Address, MaxStreamInFlight = 1 });
        await using var stream = client.OpenWriteStream();
        var shed = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = script });
        var next = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "after-bounded" });

        await stream.CompleteAsync();

        Assert.Equal((Trilean.True, Trilean.True), ((await shed).Durable, (await next).Durable));
        Assert.Equal([script, script, "stream: after-bounded"], server.Ids.Where(id => id.Contains("bounded", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RefusalWithTheServersAnswerInTheDetails_ThatAnswer()
    {
        var response = await WriteAsync("status:8:detail:False");

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Equal("status:8:detail:False", response.Id);
    }

    [Fact]
    public async Task DeadlineWithTheServersUnknownInTheDetails_Unknown()
    {
        var response = await WriteAsync("status:4:detail:Unknown");

        Assert.Equal(Trilean.Unknown, response.Durable);
        Assert.Equal("status:4:detail:Unknown", response.Id);
    }

    [Theory]
    [InlineData("status:13:detail:True")]
    [InlineData("status:8:detail:True")]
    public async Task DetailClaimingTrueUnderAnErrorStatus_Unknown(string script)
    {
        var response = await WriteAsync(script);

        Assert.Equal(Trilean.Unknown, response.Durable);
    }

    [Theory]
    [InlineData("garbled-status")]
    [InlineData("garbled-body")]
    public async Task GarbledAnswerAfterTheRequestWasSent_UnknownNotAnException(string script)
    {
        var response = await WriteAsync(script);

        Assert.Equal(Trilean.Unknown, response.Durable);
    }

    [Fact]
    public async Task OkWithoutADurabilityAnswer_Unknown()
    {
        // A server or proxy answering OK with an empty message says nothing about the write.
        var response = await WriteAsync("ok-empty");

        Assert.Equal(Trilean.Unknown, response.Durable);
        Assert.Contains("no durability answer", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamServerSilent_CompleteBoundedByItsToken_WritesAnsweredUnknown()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        var stream = client.OpenWriteStream();
        var writes = new[] { "stream-silent", "second" }.Select(id => stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = id })).ToList();
        await Eventually.WaitUntilAsync(() => server.Ids.Contains("stream-silent: both read"), TimeSpan.FromSeconds(10), "the server to read both writes");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.CompleteAsync(deadline.Token));

        // The call ended with CompleteAsync: each write has its answer, and the server had read them, so UNKNOWN.
        Assert.All(writes, w => Assert.True(w.IsCompleted));
        Assert.All(await Task.WhenAll(writes), a => Assert.Equal(Trilean.Unknown, a.Durable));
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task StreamAcknowledgedOkWithoutADurabilityAnswer_EachUnknown()
    {
        var answers = await StreamTwoWritesAsync("stream-empty-ack");

        Assert.All(answers, a => Assert.Equal(Trilean.Unknown, a.Durable));
    }

    [Fact]
    public async Task GarbledDetails_StatusStillDecides()
    {
        var response = await WriteAsync("garbled-details");

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("RESOURCE_EXHAUSTED", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpErrorWithoutGrpcStatus_Unknown()
    {
        var response = await WriteAsync("http:503");

        Assert.Equal(Trilean.Unknown, response.Durable);
        Assert.Contains("503", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deadline_SentAsTheTimeLeftInTheFinestUnit()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address, Deadline = TimeSpan.FromDays(2) });

        await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "ok" });

        // Two days is 172,800,000 ms: nine digits, too many for milliseconds, so seconds, rounded up.
        Assert.Contains("172800S", server.Timeouts);
    }

    [Fact]
    public async Task DeadlineAfterTheMessageWasSent_Unknown()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address, Deadline = TimeSpan.FromSeconds(1) });
        // The deadline covers connecting too. On a loaded machine the first connection and the
        // server's first call can take longer than the deadline, and then the message never goes
        // out: FALSE, rightly. A first call on the same client leaves the connection open, so the
        // deadline falls where this test means it to: after the message was sent.
        Assert.Equal(Trilean.True, (await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "ok" })).Durable);

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "silent" });

        Assert.Equal(Trilean.Unknown, response.Durable);
        await Eventually.WaitUntilAsync(() => server.Ids.Contains("silent"), TimeSpan.FromSeconds(10), "the server to read the message");
    }

    [Fact]
    public async Task NothingListening_FalseEvenWhenTheDeadlineEndsTheRetries()
    {
        using var client = new WalClient(new WalClientOptions { Address = NothingListening(), Deadline = TimeSpan.FromSeconds(2), ConnectAttempts = 30 });

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "ok" });

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("cannot connect", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminCallToNothingListening_WalCallExceptionSayingNothingWasSent()
    {
        var address = NothingListening();
        using var client = new WalClient(new WalClientOptions { Address = address, ConnectAttempts = 1 });

        // Catching the documented type is the point: a caller must not have to match the message.
        var e = await Assert.ThrowsAsync<WalCallException>(() => client.ListNamespacesAsync());

        Assert.True(e.NothingSent);
        Assert.Equal(14, e.StatusCode);
        Assert.Contains($"cannot connect to {address}", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was sent", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminCallDeadlineWhileTheTlsHandshakeWaits_DeadlineExceededNothingSent()
    {
        // Takes the connection and says nothing: the handshake waits until the deadline ends the call.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var address = new Uri($"https://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");
        using var client = new WalClient(new WalClientOptions { Address = address, Deadline = TimeSpan.FromSeconds(1) });

        var e = await Assert.ThrowsAsync<WalCallException>(() => client.ListNamespacesAsync());

        Assert.True(e.NothingSent);
        Assert.Equal(4, e.StatusCode);
        Assert.Contains("before the call ended", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionLostAfterTheMessageWasSent_UnknownAndNotRetried()
    {
        var response = await WriteAsync("abort");

        Assert.Equal(Trilean.Unknown, response.Durable);
        Assert.Single(server.Ids, id => id == "abort");
    }

    [Fact]
    public async Task ConnectionClosedBeforeTheMessageWasSent_FalseAfterEveryAttempt()
    {
        // Accepts each connection and closes it at once. Over TLS the message cannot go out before the
        // handshake, which the close ends: it never goes out, however often the client tries. (Over
        // h2c the client writes its request right after the connection preface, without waiting for
        // the server's settings, and can have begun the message before it sees the close: then
        // UNKNOWN is the truthful answer, and this test failed once in CI on that race.)
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = 0;
        using var stop = new CancellationTokenSource();
        var closing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var connection = await listener.AcceptTcpClientAsync(stop.Token);
                Interlocked.Increment(ref accepted);
            }
        });
        using var client = new WalClient(new WalClientOptions { Address = new Uri($"https://127.0.0.1:{port}"), ConnectAttempts = 3 });

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "ok" });
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => closing);

        Assert.Equal(Trilean.False, response.Durable);
        Assert.Contains("cannot connect", response.Message, StringComparison.Ordinal);
        Assert.Equal(3, Volatile.Read(ref accepted));
    }

    [Fact]
    public async Task StreamResetAfterTheServerReadTheWrites_EachUnknown()
    {
        var answers = await StreamTwoWritesAsync("stream-abort");

        Assert.All(answers, a => Assert.Equal(Trilean.Unknown, a.Durable));
        Assert.Equal(["stream-abort", "second"], answers.Select(a => a.Id));
    }

    [Fact]
    public async Task StreamRefusedUnprocessed_HttpTriesAgain_TheWritesGoAgainAndAreAcknowledged()
    {
        var answers = await StreamTwoWritesAsync("stream-refused-once");

        // HTTP/2 sent the call a second time after the refusal, and the writes went with it.
        Assert.All(answers, a => Assert.Equal(Trilean.True, a.Durable));
        Assert.Equal(2, server.Ids.Count(id => id == "stream-refused-once"));
    }

    [Fact]
    public async Task StreamRefusedUnprocessedAfterTheClientHalfClosed_TheWritesGoAgainAndAreAcknowledged()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        var first = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "stream-refused-once-half-closed" });
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });
        await stream.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Trilean.True, (await first).Durable);
        Assert.Equal(Trilean.True, (await second).Durable);
        Assert.Equal(2, server.Ids.Count(id => id == "stream-refused-once-half-closed"));
    }

    [Fact]
    public async Task RefusedUnprocessedEveryTime_False()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "refused" });

        Assert.True(response.Durable == Trilean.False, $"{response.Durable}: {response.Message}");
        Assert.Contains("refused the call before processing", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamRefusedUnprocessedEveryTime_EachFalse()
    {
        var answers = await StreamTwoWritesAsync("stream-refused-always").WaitAsync(TimeSpan.FromSeconds(30));

        // However often HTTP/2 tried, the server processed none of it: nothing was written.
        Assert.All(answers, a => Assert.True(a.Durable == Trilean.False, $"{a.Durable}: {a.Message}"));
        Assert.Contains("stream-refused-always", server.Ids);
    }

    [Fact]
    public async Task StreamRefusedTrailersOnlyWithoutTheAllReadMark_EachUnknown()
    {
        var answers = await StreamTwoWritesAsync("stream-refused");

        // The server read both: a refusal status alone cannot say they were not written.
        Assert.All(answers, a => Assert.Equal(Trilean.Unknown, a.Durable));
    }

    [Fact]
    public async Task StreamEndsWithAStatusButNoAllReadMark_UnacknowledgedWriteUnknown()
    {
        var answers = await StreamTwoWritesAsync("stream-unavailable");
        var (acknowledged, answer) = (answers[0], answers[1]);

        Assert.Equal(Trilean.True, acknowledged.Durable);
        Assert.Equal(Trilean.Unknown, answer.Durable);
        Assert.Equal("second", answer.Id);
        Assert.Contains("status 14", answer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamEndingAfterAnAck_RestFalseAtOnce_AndTheClientHalfCloses()
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        // The scripted server answers once it has read both.
        var first = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "stream-ending" });
        var second = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" });
        var (acknowledged, answer) = (await first, await second);

        // The server drops the stream after the half-close, so these answers came from its
        // ending message, not from how the call ended; and the stream is still open here, so
        // the half-close was the client's answer to that message.
        Assert.Equal(Trilean.True, acknowledged.Durable);
        Assert.Equal(Trilean.False, answer.Durable);
        Assert.Contains("the ingress is stopping", answer.Message, StringComparison.Ordinal);
        await Eventually.WaitUntilAsync(() => server.Ids.Contains("stream-ending: half-closed"), TimeSpan.FromSeconds(10), "the client to half-close");
        var later = await stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "later" });
        Assert.Equal(Trilean.False, later.Durable);
    }

    [Fact]
    public async Task ClientDisposedWithAStreamOpen_SentWriteAnsweredUnknown()
    {
        var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        // The scripted server waits for a second request that never comes.
        var write = stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "stream-unavailable" });
        await Eventually.WaitUntilAsync(() => server.Ids.Contains("stream-unavailable"), TimeSpan.FromSeconds(10), "the server to read the write");

        client.Dispose();

        var answer = await write.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Trilean.Unknown, answer.Durable);
    }

    [Fact]
    public async Task StreamToNothingListening_EveryWriteFalse()
    {
        using var client = new WalClient(new WalClientOptions { Address = NothingListening() });
        await using var stream = client.OpenWriteStream();

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = $"w{i}" })));

        Assert.All(answers, a => Assert.Equal(Trilean.False, a.Durable));
        Assert.All(answers, a => Assert.StartsWith("not written", a.Message, StringComparison.Ordinal));
    }

    // The scripted stream reads two writes, then acts as the first one's id says.
    private async Task<WriteToLogResponse[]> StreamTwoWritesAsync(string script)
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        await using var stream = client.OpenWriteStream();
        return await Task.WhenAll(
            stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = script }),
            stream.WriteAsync(new WriteToLogRequest { Namespace = "orders", Id = "second" }));
    }

    // A port nothing listens on: bind one, note it, let it go.
    private static Uri NothingListening()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    private async Task<WriteToLogResponse> WriteAsync(string script)
    {
        using var client = new WalClient(new WalClientOptions { Address = server.Address });
        return await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = script });
    }
}
