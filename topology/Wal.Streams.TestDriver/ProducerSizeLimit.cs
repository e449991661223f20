using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Wal.Streams.TestDriver;

/// <summary>
/// The record size the runtime's producer refuses: librdkafka fails <c>Produce</c> with <see cref="ErrorCode.MsgSizeTooLarge"/>
/// when a record's key, value and headers, with the largest framing a record can have, exceed <c>message.max.bytes</c>.
/// Without it the driver took records the runtime refuses, which fail its stream thread at every restart.
/// </summary>
internal sealed class ProducerSizeLimit(int maxMessageBytes)
{
    /// <summary>librdkafka's default <c>message.max.bytes</c>.</summary>
    public const int DefaultMaxMessageBytes = 1_000_000;

    // A record's length, attributes, timestamp delta, offset delta, key length, value length and header count, each at
    // its largest encoding (varints of up to 5 bytes, the timestamp's of up to 10): librdkafka counts all of it.
    private const int MaxRecordFraming = 36;

    /// <summary>The limit the runtime's producer gets from <paramref name="config"/>: its producer setting, else the common one, else librdkafka's default.</summary>
    public static ProducerSizeLimit For(StreamsConfig config)
    {
        var setting = config.AdditionalProducerConfig.GetValueOrDefault("message.max.bytes") ?? config.AdditionalClientConfig.GetValueOrDefault("message.max.bytes");
        // Spaces around the number and a sign, as librdkafka's strtol takes them: the runtime runs with " 10000".
        return new ProducerSizeLimit(setting is null ? DefaultMaxMessageBytes : int.Parse(setting, NumberStyles.Integer, CultureInfo.InvariantCulture));
    }

    /// <summary>Throws what the runtime's producer throws for a record over the limit.</summary>
    public void Check(string topic, byte[]? key, byte[]? value, Headers headers)
    {
        var size = (long)MaxRecordFraming + (key?.Length ?? 0) + (value?.Length ?? 0);
        foreach (var header in headers)
        {
            var name = Encoding.UTF8.GetByteCount(header.Key);
            var headerValue = header.GetValueBytes();
            size += ZigZagVarintLength(name) + name + ZigZagVarintLength(headerValue?.Length ?? -1) + (headerValue?.Length ?? 0);
        }

        if (size > maxMessageBytes)
        {
            var error = new Error(ErrorCode.MsgSizeTooLarge, $"Local: Message size too large: {size} bytes with framing, over message.max.bytes {maxMessageBytes}");
            throw new ProduceException<byte[]?, byte[]?>(error, new DeliveryResult<byte[]?, byte[]?>
            {
                Topic = topic,
                Message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers },
            });
        }
    }

    // Kafka's record format writes header lengths as zig-zag varints (-1 for a null value).
    private static int ZigZagVarintLength(int length)
    {
        var encoded = (uint)((length << 1) ^ (length >> 31));
        var bytes = 1;
        while (encoded >= 0x80)
        {
            encoded >>= 7;
            bytes++;
        }

        return bytes;
    }
}
