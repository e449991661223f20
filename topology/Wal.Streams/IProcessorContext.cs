namespace Wal.Streams;

/// <summary>What a processor sees of its task: forwarding, stores, punctuators, and the record being processed.</summary>
public interface IProcessorContext<TKeyOut, TValueOut>
{
    string ApplicationId { get; }

    TaskId TaskId { get; }

    /// <summary>The source topic, partition and offset of the record being processed; null inside a punctuator.</summary>
    RecordMetadata? RecordMetadata { get; }

    /// <summary>The wall clock (the driver's manual clock under a test driver).</summary>
    DateTimeOffset CurrentSystemTime { get; }

    /// <summary>The task's stream time in Unix milliseconds: the largest timestamp processed so far, or -1 before the first record.</summary>
    long CurrentStreamTimeMs { get; }

    /// <summary>
    /// Whether the task has read all its input that Kafka held at the consumer's last fetch: nothing is buffered, and
    /// each input partition has reached its end since its last record came. False while a backlog is being read, after
    /// an assignment until the first fetch reaches the end, and after a restore until the records written during it are
    /// read. A punctuator that gives up waiting for input (an expiry) can ask it, so an outage's backlog is read before
    /// anything in it is declared missing. Records written after that fetch are not counted. Always true under the test driver, which processes each record as it is piped.
    /// </summary>
    bool InputCaughtUp { get; }

    /// <summary>
    /// Sends <paramref name="record"/> to every child, or only to the child named <paramref name="childName"/>.
    /// Completes when the children have processed it.
    /// </summary>
    /// <exception cref="StreamsException"><paramref name="childName"/> is not a child of this processor.</exception>
    ValueTask ForwardAsync(Record<TKeyOut, TValueOut> record, string? childName = null);

    /// <summary>
    /// Waits until Kafka has acknowledged every record sent so far (forwarded to a sink, or a store's changelog write).
    /// Before it, a record forwarded is only queued: under at-least-once a store change made after it can reach its
    /// changelog while the record itself fails. Call it before deleting state that only a record just forwarded now
    /// carries, such as a dead letter's. It costs a round trip to the brokers.
    /// </summary>
    /// <exception cref="StreamsException">A record failed; the task stops, and nothing after this call has happened.</exception>
    ValueTask FlushAsync();

    /// <summary>The store named <paramref name="name"/>, which must be connected to this processor.</summary>
    /// <exception cref="StreamsException">No such store is connected to this processor, or it is not a <typeparamref name="TStore"/>.</exception>
    TStore GetStateStore<TStore>(string name)
        where TStore : class, State.IStateStore;

    /// <summary>
    /// Schedules <paramref name="punctuator"/> every <paramref name="interval"/>, with Kafka Streams' semantics: fire times are absolute
    /// (a late punctuation does not shift later ones), several missed intervals fire once, a wall-clock punctuator first fires
    /// at registration + interval, a stream-time punctuator at the first record and then at multiples of the interval.
    /// The punctuator receives the time that triggered it (stream time or wall-clock time).
    /// </summary>
    ICancellable Schedule(TimeSpan interval, PunctuationType type, Func<DateTimeOffset, ValueTask> punctuator);

    /// <summary>Asks for a commit as soon as the current record (or punctuation) is done, ahead of the commit interval.</summary>
    void Commit();
}
