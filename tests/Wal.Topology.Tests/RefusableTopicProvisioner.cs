using Wal.Kafka;

namespace Wal.Topology.Tests;

/// <summary>Creates topics through another provisioner, or refuses, as a broker denying CreateTopics would.</summary>
internal sealed class RefusableTopicProvisioner(ITopicProvisioner inner) : ITopicProvisioner
{
    private int _refusals;
    private bool _refuse;

    public bool Refuse
    {
        get => Volatile.Read(ref _refuse);
        set => Volatile.Write(ref _refuse, value);
    }

    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>Runs at the start of every call, before it creates or refuses anything: a registry changed meanwhile, say.</summary>
    public Action? BeforeEnsure { get; set; }

    /// <summary>The topics of each call, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<IReadOnlyList<string>> Calls { get; } = new();

    public Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default)
    {
        Calls.Enqueue([.. topics.Select(t => t.Name)]);
        BeforeEnsure?.Invoke();
        if (Refuse)
        {
            Interlocked.Increment(ref _refusals);
            throw new InvalidOperationException("topic creation refused");
        }

        return inner.EnsureAsync(topics, cancellationToken);
    }
}
