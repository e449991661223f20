namespace Wal.Streams;

public sealed class KafkaStreamsStateChangedEventArgs(KafkaStreamsState oldState, KafkaStreamsState newState) : EventArgs
{
    public KafkaStreamsState OldState { get; } = oldState;

    public KafkaStreamsState NewState { get; } = newState;
}
