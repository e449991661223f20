namespace Wal.Benchmarks.Ingress;

/// <summary>How h2load loads the ingress: connections, concurrent streams on each, and its worker threads.</summary>
internal sealed record H2LoadShape(int Clients, int StreamsPerClient, int Threads);
