using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>
/// Reads cluster metadata through an existing client's handle, with an admin client that lives only for the call.
/// </summary>
/// <remarks>
/// Confluent.Kafka 1.9.3's admin client built on another client's handle polls its result queue with a zero timeout in
/// a loop for as long as it lives (fixed upstream in 2.0.2, confluent-kafka-dotnet#1949): kept for later calls, it held a
/// core at 100 % on an idle topology, one per stream thread. Metadata requests do not use that queue, so the loop only
/// runs, and spins, for the few milliseconds of the call.
/// </remarks>
internal static class ClusterMetadata
{
    public static Metadata Read(Handle handle, TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(handle).Build();
        return admin.GetMetadata(timeout);
    }

    public static Metadata Read(Handle handle, string topic, TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(handle).Build();
        return admin.GetMetadata(topic, timeout);
    }
}
