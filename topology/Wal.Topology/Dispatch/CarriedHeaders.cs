using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Wal.Topology.State;

namespace Wal.Topology.Dispatch;

/// <summary>
/// The input record's own headers that its dead letter carries ahead of the dead letter's: a reader of the dead-letter
/// topic still sees where a replicated record came from, or a writer's trace. A header the dead letter sets itself
/// is left out, so it is there once, with the dead letter's value (an old dead letter copied back by a tool around
/// the ingress has them all).
/// </summary>
public static class CarriedHeaders
{
    /// <summary>The headers of <paramref name="input"/> a dead letter keeps, as a new list it may add to.</summary>
    public static Headers From(Headers? input)
    {
        var carried = new Headers();
        foreach (var header in input ?? [])
        {
            if (!DeadLetterHeaders.IsSetByDeadLetter(header.Key))
            {
                carried.Add(header.Key, header.GetValueBytes());
            }
        }

        return carried;
    }

    /// <summary>The headers a timer kept (<see cref="Save"/>), as a new list a dead letter may add to.</summary>
    public static Headers From(RepeatedField<RecordHeader> saved)
    {
        var carried = new Headers();
        foreach (var header in saved)
        {
            carried.Add(header.Key, header.Value.ToByteArray());
        }

        return carried;
    }

    /// <summary>Keeps the headers of <paramref name="input"/> a dead letter would carry in <paramref name="saved"/>.</summary>
    public static void Save(Headers? input, RepeatedField<RecordHeader> saved)
    {
        foreach (var header in input ?? [])
        {
            if (!DeadLetterHeaders.IsSetByDeadLetter(header.Key))
            {
                // Protobuf has no null bytes: a null value is kept empty.
                saved.Add(new RecordHeader { Key = header.Key, Value = ByteString.CopyFrom(header.GetValueBytes() ?? []) });
            }
        }
    }
}
