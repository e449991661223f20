using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Wal.Ingress;

/// <summary>How an ingress instance listens and produces. Checked by <see cref="Validate"/> at start.</summary>
public sealed class IngressOptions
{
    /// <summary>IP address (or <c>localhost</c>) the gRPC endpoint listens on.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>gRPC port (HTTP/2 cleartext); 0 picks a free port, see <see cref="IngressHost.GetGrpcAddress"/>.</summary>
    public int Port { get; set; } = 50051;

    /// <summary>HTTP/1.1 port for <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>; 0 picks a free port, -1 turns it off.</summary>
    public int AdminPort { get; set; } = 50052;

    /// <summary>The local Kafka cluster's bootstrap servers.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>This region's name, stamped as the origin of every record accepted here.</summary>
    public string Region { get; set; } = "local";

    /// <summary>
    /// The topology's application id: its state changelogs and dead letters are topics named after it, which a Kafka
    /// target may not write to. The topology's default unless told.
    /// </summary>
    public string TopologyApplicationId { get; set; } = "wal-topology";

    /// <summary>How long Kafka may take to acknowledge a record (<c>message.timeout.ms</c>); past it, durable is UNKNOWN.</summary>
    public TimeSpan ProduceTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a client connection may send nothing before the ingress sends it an HTTP/2 PING; without the answer
    /// within as long again the connection is closed. A stream waits for its caller as long as the caller wants (it is
    /// exempt from the minimum data rate), so this is what notices a client or path that vanished without closing.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the producer waits to batch records (<c>linger.ms</c>).</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Largest gRPC request message, in bytes. Must hold the largest namespace payload plus its envelope.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Writes one WriteToLogStream call may have unacknowledged; the server stops reading beyond it.</summary>
    public int MaxStreamInFlight { get; set; } = 1000;

    /// <summary>
    /// When the instance stops, how long a WriteToLogStream call, told it is ending, waits for its caller to
    /// half-close before it ends anyway (see <see cref="WriteStreamHandler"/>).
    /// </summary>
    public TimeSpan StreamEndingGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a WriteToLogStream call may take to hand one flush of acknowledgements (at most 64 KiB of them) to its
    /// caller (whose HTTP/2 window stays shut because it stopped reading) before the ingress resets the stream with
    /// ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED. A caller reading more slowly than that is cut
    /// off too, though its acks still trickle out. Nothing else ends such a call: its connection stays alive, and Kestrel's minimum
    /// response data rate does not count time stalled on flow control.
    /// </summary>
    public TimeSpan StreamAckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Bytes of records (payload and envelope) awaiting Kafka across all namespaces; beyond it, RESOURCE_EXHAUSTED.</summary>
    public long MaxInFlightBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Bytes of request messages still arriving (begun, not yet whole) across all calls; a message that no longer
    /// fits is answered RESOURCE_EXHAUSTED as soon as it does not. A message is buffered whole before it is parsed, so without
    /// this bound memory would follow the number of open calls times their message size, not the instance's bounds.
    /// </summary>
    public long MaxReceivingBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long a message holding part of <see cref="MaxReceivingBytes"/> may take to arrive whole; then its call ends
    /// RESOURCE_EXHAUSTED and the part is given back, so a caller stopped mid-message cannot hold it for good.
    /// </summary>
    public TimeSpan MaxMessageArrivalTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connections open at once on the gRPC port; one more is closed as it arrives. HTTP/2 callers hold one
    /// connection per instance, or a few; each open connection may hold up to its HTTP/2 window (1 MiB) of
    /// request bytes not yet read. The admin port is not counted.
    /// </summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>PEM certificate for TLS on the gRPC port, then any intermediate CAs (sent in the handshake). Empty: cleartext HTTP/2 (h2c).</summary>
    public string TlsCertificatePath { get; set; } = string.Empty;

    /// <summary>PEM private key of <see cref="TlsCertificatePath"/>.</summary>
    public string TlsKeyPath { get; set; } = string.Empty;

    /// <summary>
    /// PEM CA certificates that client certificates must chain to. Set: mutual TLS, and a
    /// caller's certificate names are matched against each namespace's allowed_clients.
    /// </summary>
    public string ClientCaPath { get; set; } = string.Empty;

    /// <summary>With <see cref="ClientCaPath"/>: refuse the handshake without a client certificate (else such callers are anonymous).</summary>
    public bool RequireClientCertificate { get; set; } = true;

    /// <summary>
    /// Client identities (certificate CN or DNS names) that may create, update and delete
    /// namespaces. Empty: every caller may (a local run). Set: needs mutual TLS
    /// (<see cref="ClientCaPath"/>); other callers get PERMISSION_DENIED, anonymous ones UNAUTHENTICATED.
    /// </summary>
    public IReadOnlyList<string> AdminClients { get; set; } = [];

    public bool UsesTls => TlsCertificatePath.Length > 0;

    /// <summary>
    /// Producer settings that carry the durability contract (acks=all, idempotence, the produce
    /// timeout behind UNKNOWN, a delivery report for every record): overriding one would make
    /// TRUE a lie, so <see cref="ProducerSettings"/> may not name them.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedProducerSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "acks", "request.required.acks", "enable.idempotence", "message.timeout.ms", "delivery.timeout.ms",
        "delivery.report.only.error", "dr_cb", "dr_msg_cb", "bootstrap.servers", "metadata.broker.list",
        "linger.ms", "queue.buffering.max.ms", "enable.gapless.guarantee", "transactional.id",
    };

    /// <summary>Extra librdkafka producer settings (name to value), applied last; for tuning and tests. See <see cref="ReservedProducerSettings"/>.</summary>
    public IDictionary<string, string> ProducerSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Every problem, each naming the option and its bad value; empty when valid.</summary>
    public IReadOnlyList<string> Errors()
    {
        var errors = new List<string>();
        if (ListenAddress != "localhost" && !IPAddress.TryParse(ListenAddress, out _))
        {
            errors.Add($"ListenAddress: '{ListenAddress}' is not an IP address or 'localhost'");
        }

        if (Port is < 0 or > 65535)
        {
            errors.Add($"Port: {Port} must be between 0 and 65535");
        }

        if (AdminPort is < -1 or > 65535 || (AdminPort == Port && Port != 0))
        {
            errors.Add($"AdminPort: {AdminPort} must be -1 (off) or 0 to 65535, and differ from Port");
        }

        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add("BootstrapServers: must name at least one broker (host:port)");
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            errors.Add("Region: must not be empty");
        }

        if (ProduceTimeout < TimeSpan.FromMilliseconds(100) || ProduceTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"ProduceTimeout: {ProduceTimeout} must be between 100 ms and 1 hour");
        }

        if (KeepAlivePingDelay < TimeSpan.FromSeconds(1) || KeepAlivePingDelay > TimeSpan.FromHours(1))
        {
            errors.Add($"KeepAlivePingDelay: {KeepAlivePingDelay} must be between 1 s and 1 hour");
        }

        if (Linger < TimeSpan.Zero || Linger >= ProduceTimeout)
        {
            errors.Add($"Linger: {Linger} must not be negative and must be below ProduceTimeout");
        }

        if (MaxReceiveMessageSize is < 1024 or > 128 * 1024 * 1024)
        {
            errors.Add($"MaxReceiveMessageSize: {MaxReceiveMessageSize} must be between 1024 and 134217728");
        }

        if (MaxStreamInFlight is < 1 or > 1_000_000)
        {
            errors.Add($"MaxStreamInFlight: {MaxStreamInFlight} must be between 1 and 1000000");
        }

        if (StreamEndingGrace < TimeSpan.Zero || StreamEndingGrace > TimeSpan.FromMinutes(1))
        {
            errors.Add($"StreamEndingGrace: {StreamEndingGrace} must be between 0 and 1 minute");
        }

        if (StreamAckTimeout < TimeSpan.FromSeconds(1) || StreamAckTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"StreamAckTimeout: {StreamAckTimeout} must be between 1 s and 1 hour");
        }

        if (MaxInFlightBytes < MaxReceiveMessageSize)
        {
            errors.Add($"MaxInFlightBytes: {MaxInFlightBytes} must be at least MaxReceiveMessageSize ({MaxReceiveMessageSize})");
        }

        if (MaxConnections < 1)
        {
            errors.Add($"MaxConnections: {MaxConnections} must be at least 1");
        }

        if (MaxMessageArrivalTime <= TimeSpan.Zero || MaxMessageArrivalTime > TimeSpan.FromDays(1))
        {
            errors.Add($"MaxMessageArrivalTime: {MaxMessageArrivalTime} must be positive and at most a day");
        }

        if (MaxReceivingBytes < MaxReceiveMessageSize)
        {
            errors.Add($"MaxReceivingBytes: {MaxReceivingBytes} must be at least MaxReceiveMessageSize ({MaxReceiveMessageSize})");
        }

        // The .NET client's own switches (background poll, delivery reports and their fields) decide
        // whether an answer ever arrives: none of them may change either.
        foreach (var name in ProducerSettings.Keys.Where(n => ReservedProducerSettings.Contains(WithoutTopicPrefix(n)) || n.StartsWith("dotnet.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            errors.Add($"ProducerSettings: '{name}' is fixed by the durability contract (or has its own option) and may not be overridden");
        }

        ValidateTls(errors);
        return errors;
    }

    // librdkafka passes a name it does not know globally to the default topic configuration, which drops a leading
    // "topic.": "topic.message.timeout.ms" sets message.timeout.ms.
    private static string WithoutTopicPrefix(string name) =>
        name.StartsWith("topic.", StringComparison.Ordinal) ? name["topic.".Length..] : name;

    private void ValidateTls(List<string> errors)
    {
        if ((TlsCertificatePath.Length == 0) != (TlsKeyPath.Length == 0))
        {
            errors.Add($"TlsCertificatePath/TlsKeyPath: '{TlsCertificatePath}' and '{TlsKeyPath}' must both be set or both be empty");
        }

        foreach (var (name, path) in new[] { ("TlsCertificatePath", TlsCertificatePath), ("TlsKeyPath", TlsKeyPath), ("ClientCaPath", ClientCaPath) })
        {
            if (path.Length > 0 && !File.Exists(path))
            {
                errors.Add($"{name}: file '{path}' does not exist");
            }
        }

        LoadableTls(errors);
        if (ClientCaPath.Length > 0 && !UsesTls)
        {
            errors.Add($"ClientCaPath: '{ClientCaPath}' needs TLS (TlsCertificatePath and TlsKeyPath)");
        }

        if (AdminClients.Count > 0 && ClientCaPath.Length == 0)
        {
            errors.Add($"AdminClients: '{string.Join(",", AdminClients)}' needs mutual TLS (ClientCaPath): without client certificates no caller has a name");
        }
    }

    // Files that exist but do not fit failed only as Kestrel started (a CryptographicException naming no file), or, for a
    // CA file with no certificate in it (the CA's key, a DER file), not at all: every client was refused at the handshake.
    private void LoadableTls(List<string> errors)
    {
        if (UsesTls && File.Exists(TlsCertificatePath) && File.Exists(TlsKeyPath))
        {
            try
            {
                using var certificate = X509Certificate2.CreateFromPemFile(TlsCertificatePath, TlsKeyPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.Add($"TlsCertificatePath/TlsKeyPath: '{TlsCertificatePath}' and '{TlsKeyPath}' cannot be read as a PEM certificate and its private key ({e.Message})");
            }
        }

        if (ClientCaPath.Length > 0 && File.Exists(ClientCaPath))
        {
            var authorities = new X509Certificate2Collection();
            try
            {
                authorities.ImportFromPemFile(ClientCaPath);
                if (authorities.Count == 0)
                {
                    errors.Add($"ClientCaPath: file '{ClientCaPath}' holds no PEM certificate (-----BEGIN CERTIFICATE-----), so no client would be admitted");
                }
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.Add($"ClientCaPath: file '{ClientCaPath}' cannot be read as PEM CA certificates ({e.Message})");
            }
            finally
            {
                foreach (var authority in authorities)
                {
                    authority.Dispose();
                }
            }
        }
    }

    /// <exception cref="OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public void Validate()
    {
        var errors = Errors();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(IngressOptions), typeof(IngressOptions), errors);
        }
    }
}
