using Confluent.Kafka;

namespace Wal.Kafka;

/// <summary>
/// An idempotent producer that is built again once librdkafka has failed it for good (its producer id refused, a
/// sequence lost): such a producer refuses every later record, so kept, everything written through it failed until
/// the process restarted. Each <see cref="Current"/> after the failure gets a new one; what the failed one still
/// held fails with it, as it would have anyway, and its callers hear so.
/// </summary>
public sealed class RenewingProducer<TKey, TValue> : IDisposable
{
    private static readonly TimeSpan FailedFlushTimeout = TimeSpan.FromSeconds(5);
    private readonly ProducerConfig _config;
    private readonly Action<Error> _onError;
    private readonly Lock _gate = new();
    private Built? _built;
    private bool _disposed;

    /// <param name="config">Every producer's settings.</param>
    /// <param name="onError">Each error librdkafka reports to the producer's error handler (to log it).</param>
    public RenewingProducer(ProducerConfig config, Action<Error> onError)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(onError);
        _config = config;
        _onError = onError;
    }

    /// <summary>The producer to write through: the one built last, or a new one if librdkafka failed that for good.</summary>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public IProducer<TKey, TValue> Current
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_built is { Failed: true } failed)
                {
                    // Served before it goes: librdkafka fails what the producer still holds with its fatal error, and a
                    // caller awaiting one of those records hears it; disposed at once, the poll thread stopped first and
                    // such a caller waited for ever.
                    failed.Producer.Flush(FailedFlushTimeout);
                    failed.Producer.Dispose();
                    _built = null;
                }

                return (_built ??= Build()).Producer;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _built?.Producer.Dispose();
            _built = null;
        }
    }

    private Built Build()
    {
        var built = new Built();
        built.Producer = new ProducerBuilder<TKey, TValue>(_config)
            .SetErrorHandler((_, error) =>
            {
                // librdkafka 2.0.2 flags an error fatal only here; the records it fails carry other codes.
                if (error.IsFatal)
                {
                    built.Failed = true;
                }

                _onError(error);
            })
            .Build();
        return built;
    }

    private sealed class Built
    {
        public IProducer<TKey, TValue> Producer { get; set; } = null!;

        public volatile bool Failed;
    }
}
