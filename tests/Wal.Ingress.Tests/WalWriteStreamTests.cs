using Google.Protobuf;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>WalClient's WriteToLogStream against the real ingress: answers, back-pressure, and the call's end.</summary>
public sealed class WalWriteStreamTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    [Fact]
    public async Task ManyWritesAboveTheServersBound_EachTrueAndInTheTopic()
    {
        // The fixture's ingress reads at most 8 requests ahead per stream; the client holds 50.
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address, MaxStreamInFlight = 50 });
        var ids = Enumerable.Range(0, 300).Select(i => $"stream-many-{i}").ToList();

        List<WriteToLogResponse> answers;
        await using (var stream = client.OpenWriteStream())
        {
            var writes = ids.Select(id => stream.WriteAsync(Request(TestNamespaces.Orders, id))).ToList();
            await stream.CompleteAsync();
            answers = [.. await Task.WhenAll(writes)];
        }

        Assert.All(answers, a => Assert.Equal(Trilean.True, a.Durable));
        Assert.Equal(ids, answers.Select(a => a.Id));
        var inTopic = fixture.Host.ReadAll(fixture.Host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id).ToHashSet();
        Assert.Empty(ids.Except(inTopic));
    }

    [Fact]
    public async Task RefusedWriteAmongOthers_FalseWithTheReasonForItOnly()
    {
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address });
        await using var stream = client.OpenWriteStream();

        var before = stream.WriteAsync(Request(TestNamespaces.Orders, "stream-before"));
        var refused = stream.WriteAsync(Request("no-such-namespace", "stream-refused"));
        var after = stream.WriteAsync(Request(TestNamespaces.Orders, "stream-after"));
        await stream.CompleteAsync();

        Assert.Equal(Trilean.True, (await before).Durable);
        Assert.Equal(Trilean.True, (await after).Durable);
        var answer = await refused;
        Assert.Equal(Trilean.False, answer.Durable);
        Assert.Contains("does not exist", answer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamQuietLongerThanKestrelsGracePeriod_NextWriteTrue_AndAUnaryCallBesideItToo()
    {
        // Kestrel aborts a connection whose request bodies deliver under 240 bytes/s once its 5 s grace period is over.
        // An open stream that waits for a producer's next write is no slow upload: the ingress exempts streaming calls,
        // or a quiet spell broke the stream (FALSE for every later write) and unary calls on the same connection.
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address });
        await using var stream = client.OpenWriteStream();
        Assert.Equal(Trilean.True, (await stream.WriteAsync(Request(TestNamespaces.Orders, "quiet-first"))).Durable);

        await Task.Delay(TimeSpan.FromSeconds(7)); // the quiet spell is the scenario, not a wait for a result

        var unary = await client.WriteToLogAsync(Request(TestNamespaces.Orders, "quiet-unary"));
        var next = await stream.WriteAsync(Request(TestNamespaces.Orders, "quiet-next"));
        Assert.Equal(Trilean.True, unary.Durable);
        Assert.Equal(Trilean.True, next.Durable);
    }

    [Fact]
    public async Task WriteAfterComplete_Throws()
    {
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address });
        await using var stream = client.OpenWriteStream();
        await stream.CompleteAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => stream.WriteAsync(Request(TestNamespaces.Orders, "too-late")));
    }

    [Fact]
    public async Task IngressStopsWhileWritesFlow_UnreadWritesFalse_AndTheAnswersMatchTheTopic()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        var topic = host.TopicOf(TestNamespaces.Orders);
        using var client = new WalClient(new WalClientOptions { Address = host.Address, MaxStreamInFlight = 100 });
        var writes = new List<Task<WriteToLogResponse>>();
        Task? stopping = null;

        await using (var stream = client.OpenWriteStream())
        {
            for (var i = 0; i < 3000; i++)
            {
                writes.Add(stream.WriteAsync(Request(TestNamespaces.Orders, $"stop-{i}")));
                if (i == 1000)
                {
                    await Eventually.WaitUntilAsync(() => host.CountRecords(topic) >= 200, TimeSpan.FromSeconds(20), "the first writes did not reach Kafka");
                    stopping = host.App.StopAsync();
                }
            }

            await Task.WhenAll(writes);
        }

        await stopping!;
        var answers = writes.Select(w => w.Result).ToList();
        var inTopic = host.ReadAll(topic).Select(r => r.Entry.Id).ToHashSet();
        // The ingress acknowledged every request it read and said so, so the client can tell the
        // rest were not written: FALSE, none UNKNOWN.
        Assert.All(answers, a => Assert.True(a.Durable is Trilean.True or Trilean.False, $"{a.Id}: {a.Durable} ({a.Message})"));
        Assert.Contains(answers, a => a.Durable == Trilean.True);
        Assert.Contains(answers, a => a.Durable == Trilean.False);
        Assert.Empty(answers.Where(a => a.Durable == Trilean.True).Select(a => a.Id).Except(inTopic));
        Assert.Empty(answers.Where(a => a.Durable == Trilean.False).Select(a => a.Id).Intersect(inTopic));
    }

    private static WriteToLogRequest Request(string @namespace, string id) => new()
    {
        Namespace = @namespace,
        Id = id,
        Payload = ByteString.CopyFromUtf8($"payload {id}"),
    };
}
