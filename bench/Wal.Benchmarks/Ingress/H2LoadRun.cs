namespace Wal.Benchmarks.Ingress;

/// <summary>One h2load run against WriteToLog or WriteToLogStream: what h2load saw, what the ingress answered and the topic gained, and the CPU it took per durable write.</summary>
internal sealed record H2LoadRun(ThroughputSample Sample, H2LoadResult Http, H2LoadShape Shape, double IngressCpuMicroseconds, double BrokerCpuMicroseconds, TimeSpan JitTime)
{
    /// <summary>h2load's own CPU per durable write.</summary>
    public double H2LoadCpuMicroseconds => Http.ProcessorTime.TotalMicroseconds / Math.Max(1, Sample.Durable);

    /// <summary>
    /// Answers other than TRUE that are only h2load ending its run: it closes its connections with
    /// requests in flight, and the ingress answers those UNKNOWN when their record was already
    /// produced (Kafka writes them anyway) or FALSE when it was not yet reserved (never written).
    /// Counted as such only if there are no more of them than h2load's open streams and the topic
    /// holds every UNKNOWN one.
    /// </summary>
    public long CutAtEnd =>
        Sample.NotDurable <= Shape.Clients * Shape.StreamsPerClient && Sample.NotDurable - Sample.NotWritten <= Sample.TopicDelta - Sample.Durable ? Sample.NotDurable : 0;

    /// <summary>Requests h2load saw fail, and answers other than TRUE that are not <see cref="CutAtEnd"/>.</summary>
    public long Failed => Http.Failed + Sample.NotDurable - CutAtEnd;
}
