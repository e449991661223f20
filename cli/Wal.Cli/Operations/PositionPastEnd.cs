namespace Wal.Cli.Operations;

/// <summary>A dead-letter partition whose committed redrive position was past its end, so it was read from its start.</summary>
internal sealed record PositionPastEnd(int Partition, long Committed, long End);
