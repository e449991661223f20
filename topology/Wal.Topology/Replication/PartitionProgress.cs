using Confluent.Kafka;

namespace Wal.Topology.Replication;

/// <summary>
/// One assigned partition's replication progress: the offsets sent to the remote and not yet
/// acknowledged, and one past the last offset read. Used by the replicator's loop thread only.
/// </summary>
internal sealed class PartitionProgress
{
    private readonly SortedSet<long> _unacknowledged = [];
    // Offsets written to the dead-letter topic and not yet committed: a rewind to an earlier record reads them again.
    private readonly SortedSet<long> _deadLettered = [];
    private long _committed;
    // A broker refuses a batch as a whole: up to here, each record goes out with no other of this partition in flight,
    // so a refusal is about that record and not about the batch it shared.
    private long _aloneThrough = -1;

    /// <param name="partition">The partition.</param>
    /// <param name="start">The first offset read.</param>
    /// <param name="startCommitted">
    /// Whether the group has an offset committed for it. Without one, the start is committed at the next commit even though
    /// nothing passed it: a region away from the replicator's first start left its group with no position at all, so
    /// <c>wal status</c> showed no lag for it, and a start after retention removed records began at the first one left
    /// without noticing the gap.
    /// </param>
    public PartitionProgress(TopicPartition partition, long start, bool startCommitted = true)
    {
        Partition = partition;
        Next = start;
        _committed = startCommitted ? start : start - 1;
    }

    public TopicPartition Partition { get; }

    /// <summary>One past the last offset read (sent, or skipped because it did not originate here).</summary>
    public long Next { get; private set; }

    public int InFlight => _unacknowledged.Count;

    /// <summary>
    /// The offset to commit: every record below it is acknowledged by the remote or needed no
    /// replication. Records above an unacknowledged one may be acknowledged already; they wait.
    /// </summary>
    public long Committable => _unacknowledged.Count > 0 ? _unacknowledged.Min : Next;

    public bool HasUncommitted => Committable > _committed;

    /// <summary>True while reading is paused until the record sent alone is answered (see <see cref="SendsAlone"/>).</summary>
    public bool Held { get; set; }

    /// <summary>Records up to <paramref name="offset"/> are sent one at a time from now on.</summary>
    public void SendAloneThrough(long offset) => _aloneThrough = Math.Max(_aloneThrough, offset);

    public bool SendsAlone(long offset) => offset <= _aloneThrough;

    public void Sent(long offset)
    {
        _unacknowledged.Add(offset);
        Next = offset + 1;
    }

    public void Skipped(long offset) => Next = offset + 1;

    public void Acknowledged(long offset) => _unacknowledged.Remove(offset);

    /// <summary>The record went to the dead-letter topic: answered, and not to be sent again when a rewind reads it.</summary>
    public void DeadLettered(long offset)
    {
        _unacknowledged.Remove(offset);
        _deadLettered.Add(offset);
    }

    public bool WasDeadLettered(long offset) => _deadLettered.Contains(offset);

    public void MarkCommitted(long offset)
    {
        _committed = offset;
        _deadLettered.RemoveWhere(o => o < offset);
    }

    /// <summary>Forget what is in flight and read again from the first unacknowledged record.</summary>
    public long Rewind()
    {
        var from = Committable;
        _unacknowledged.Clear();
        Next = from;
        return from;
    }
}
