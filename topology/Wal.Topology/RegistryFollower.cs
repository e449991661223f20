using System.Threading.Channels;
using Wal.Namespaces;

namespace Wal.Topology;

/// <summary>
/// Runs a reconcile step after the namespace registry changed and then stayed quiet for a while (or, under changes
/// that never stop, ten quiet periods after the first), so a burst of changes (a whole seed file applied) costs one
/// step. Steps never overlap; a step
/// that reports failure through <see cref="RetryLater"/> runs again after the quiet period.
/// </summary>
internal sealed class RegistryFollower : IAsyncDisposable
{
    // One pending signal is enough: a step always reads the registry as it is when it runs.
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private const int MaxQuietWaits = 10;
    private readonly CancellationTokenSource _stop = new();
    private readonly INamespaceRegistry _registry;
    private readonly TimeSpan _debounce;
    private readonly Func<CancellationToken, Task> _reconcile;
    private Task _loop = Task.CompletedTask;

    /// <param name="registry">The registry whose <see cref="INamespaceRegistry.Changed"/> event starts a step.</param>
    /// <param name="debounce">How long the registry must stay unchanged before a step; default 1 s.</param>
    /// <param name="reconcile">The step; it gets a token cancelled by <see cref="StopAsync"/>.</param>
    public RegistryFollower(INamespaceRegistry registry, TimeSpan? debounce, Func<CancellationToken, Task> reconcile)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(reconcile);
        _debounce = debounce ?? TimeSpan.FromSeconds(1);
        if (_debounce < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(debounce), _debounce, "The debounce must not be negative.");
        }

        _registry = registry;
        _reconcile = reconcile;
    }

    /// <summary>Starts following the registry's changes.</summary>
    public void Start()
    {
        _registry.Changed += OnRegistryChanged;
        _loop = FollowAsync(_stop.Token);
    }

    /// <summary>Stops following and waits for a running step to end.</summary>
    public async Task StopAsync()
    {
        _registry.Changed -= OnRegistryChanged;
        _changes.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
    }

    /// <summary>
    /// Asks for another step after the quiet period plus a second (a broker that is back lets it through). Does nothing
    /// once the follower is stopped: a replicator failing while the host shuts down asks too.
    /// </summary>
    public void RetryLater()
    {
        try
        {
            if (!_stop.IsCancellationRequested)
            {
                _ = RetryLaterAsync(_stop.Token);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private void OnRegistryChanged(object? sender, EventArgs e) => _changes.Writer.TryWrite(true);

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _changes.Reader.WaitToReadAsync(cancellationToken))
            {
                // Quiet for a debounce, or at most MaxQuietWaits of them: changes coming more often than that (a policy
                // automated every half second) held a step off for as long as they came, a new namespace's included.
                var waited = 0;
                while (waited++ < MaxQuietWaits && _changes.Reader.TryRead(out _))
                {
                    await Task.Delay(_debounce, cancellationToken);
                }

                await _reconcile(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RetryLaterAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_debounce + TimeSpan.FromSeconds(1), cancellationToken);
            _changes.Writer.TryWrite(true);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
