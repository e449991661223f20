namespace Wal.Ingress.Tests;

/// <summary>One ingress and cluster shared by a test class; tests inside a class run one at a time.</summary>
public sealed class IngressFixture : IAsyncLifetime
{
    public IngressTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await IngressTestHost.StartAsync(configure: o => o.MaxStreamInFlight = 8);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
