namespace Wal.Cli.Settings;

/// <summary>
/// The environment variables Wal reads, in one place, so that deployment files (docker-compose)
/// can be checked against them by a test.
/// </summary>
internal static class WalEnvironment
{
    public const string BootstrapServers = "WAL_BOOTSTRAP_SERVERS";
    public const string Region = "WAL_REGION";
    public const string Regions = "WAL_REGIONS";
    public const string NamespacesFile = "WAL_NAMESPACES_FILE";
    public const string Listen = "WAL_LISTEN";
    public const string StateDir = "WAL_STATE_DIR";
    public const string ApplicationId = "WAL_APPLICATION_ID";
    public const string MemcachedClusters = "WAL_MEMCACHED_CLUSTERS";
    public const string CassandraClusters = "WAL_CASSANDRA_CLUSTERS";
    public const string KafkaClusters = "WAL_KAFKA_CLUSTERS";
    public const string TlsCertificate = "WAL_TLS_CERT";
    public const string TlsKey = "WAL_TLS_KEY";
    public const string TlsClientCa = "WAL_TLS_CLIENT_CA";
    public const string AdminClients = "WAL_ADMIN_CLIENTS";
    public const string Address = "WAL_ADDRESS";
    public const string AdminPort = "WAL_ADMIN_PORT";
    public const string AdminHost = "WAL_ADMIN_HOST";

    public static IReadOnlyList<string> All { get; } =
    [
        BootstrapServers, Region, Regions, NamespacesFile, Listen, StateDir, ApplicationId,
        MemcachedClusters, CassandraClusters, KafkaClusters, TlsCertificate, TlsKey, TlsClientCa, AdminClients, Address, AdminPort, AdminHost,
    ];

    public static string? Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
