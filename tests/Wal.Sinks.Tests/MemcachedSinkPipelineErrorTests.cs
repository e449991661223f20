using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

/// <summary>
/// A batch of in-order writes goes to memcached as one pipelined request. When an answer in the middle is an error, or
/// the connection breaks after some answers, the writes answered before it took effect: the batch must settle as one
/// delivery after another would, not fail every write with the error of a later one (a stored chunk reported refused,
/// and the wrong chunk named in a mutation's dead letter). A scripted peer stands in for memcached, which answers a
/// well-formed command with no CLIENT_ERROR.
/// </summary>
public sealed class MemcachedSinkPipelineErrorTests
{
    [Theory]
    [InlineData("HD O1 c7\r\nCLIENT_ERROR bad data chunk\r\n", DeliveryOutcome.PermanentFailure, "CLIENT_ERROR bad data chunk")]
    [InlineData("HD O1 c7\r\n", DeliveryOutcome.RetriableFailure, "closed")]
    public async Task BatchAnsweredThenFailed_TheAnsweredWriteIsDelivered_TheNextGetsTheFailure(string answers, DeliveryOutcome second, string why)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var peer = ServeOnceAsync(listener, Encoding.ASCII.GetBytes(answers));
        await using var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions>
            {
                ["c"] = new() { Servers = [$"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"], ConnectionsPerServer = 1 },
            },
            OperationTimeout = TimeSpan.FromSeconds(10),
        });

        var results = await sink.DeliverInOrderAsync([new Delivery("m/0", Target("k0"), "a"u8.ToArray(), 100), new Delivery("m/1", Target("k1"), "b"u8.ToArray(), 100)]);
        await peer.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(results.Count == 2, string.Join(", ", results.Select(r => $"{r.Outcome} ({r.Error})")));
        Assert.Equal(DeliveryOutcome.Delivered, results[0].Outcome);
        Assert.Equal(second, results[1].Outcome);
        Assert.Contains(why, results[1].Error, StringComparison.Ordinal);
    }

    private static Target Target(string key) =>
        new() { Memcached = new MemcachedTarget { Cluster = "c", Key = key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) } };

    // Answers the sink's first exchange (its probe of the server) with END, reads the two set commands (four line ends:
    // each command line and its data), sends the scripted answers and closes the connection.
    private static async Task ServeOnceAsync(TcpListener listener, byte[] answers)
    {
        using var socket = await listener.AcceptSocketAsync();
        var buffer = new byte[64 * 1024];
        _ = await socket.ReceiveAsync(buffer);
        await socket.SendAsync("END\r\n"u8.ToArray());
        var received = new StringBuilder();
        while (received.ToString().Split("\r\n").Length - 1 < 4)
        {
            var n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                return;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        await socket.SendAsync(answers);
        socket.Shutdown(SocketShutdown.Both);
    }
}
