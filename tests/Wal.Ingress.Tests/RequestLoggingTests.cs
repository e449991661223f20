using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>What a call costs in logging when a log provider listens, as it does under the CLI.</summary>
public sealed class RequestLoggingTests
{
    [Fact]
    public async Task WriteToLog_ProviderListeningAtWarning_NoLogScopePerRequest()
    {
        // ASP.NET Core's hosting opens a log scope (and starts an Activity with it) for each request when its logger is
        // enabled: a cost on every unary call for scopes nothing prints.
        var logs = new ScopeCountingProvider();
        await using var host = await IngressTestHost.StartAsync(brokers: 1, logs: logs);
        using var client = new GrpcTestClient(host.Address);

        const int calls = 5;
        for (var i = 0; i < calls; i++)
        {
            var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = $"w{i}", Payload = ByteString.CopyFromUtf8("x") });
            Assert.True(response.Status == StatusCode.OK, $"{response.Status} {response.Message}");
            Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages)).Durable);
        }

        // Kestrel's scope per connection stays: one connection here.
        Assert.Equal(["Microsoft.AspNetCore.Server.Kestrel"], logs.ScopesBegun.Keys);
        Assert.Equal(1, logs.ScopesBegun.Values.Sum());
    }

    /// <summary>Counts the log scopes begun, by logger category.</summary>
    private sealed class ScopeCountingProvider : ILoggerProvider
    {
        public ConcurrentDictionary<string, int> ScopesBegun { get; } = new();

        public ILogger CreateLogger(string categoryName) => new ScopeCountingLogger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class ScopeCountingLogger(ScopeCountingProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                owner.ScopesBegun.AddOrUpdate(category, 1, (_, n) => n + 1);
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
            }
        }
    }
}
