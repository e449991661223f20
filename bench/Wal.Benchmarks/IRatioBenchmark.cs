namespace Wal.Benchmarks;

/// <summary>A benchmark that measures Wal against the raw alternative in one run and reports the ratio.</summary>
internal interface IRatioBenchmark
{
    /// <summary>The name used on the command line.</summary>
    string Name { get; }

    /// <summary>What is compared, and the target, in one line.</summary>
    string Description { get; }

    Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken);
}
