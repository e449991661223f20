using System.Globalization;

namespace Wal.Client;

/// <summary>Writes a <c>grpc-timeout</c> value: at most 8 digits, in the finest unit that holds the time left.</summary>
internal static class GrpcTimeoutHeader
{
    private const long MaxAmount = 99_999_999;

    private static readonly (char Unit, long Ticks)[] Units =
    [
        ('u', TimeSpan.TicksPerMicrosecond),
        ('m', TimeSpan.TicksPerMillisecond),
        ('S', TimeSpan.TicksPerSecond),
        ('M', TimeSpan.TicksPerMinute),
        ('H', TimeSpan.TicksPerHour),
    ];

    /// <summary>
    /// Rounds up, so the server never stops before the caller would; a time already past is sent as
    /// one nanosecond, which the server answers with DEADLINE_EXCEEDED at once.
    /// </summary>
    public static string Format(TimeSpan timeLeft)
    {
        // A tick is 100 ns.
        var ticks = Math.Max(timeLeft.Ticks, 0);
        if (ticks <= MaxAmount / 100)
        {
            return Text(Math.Max(ticks * 100, 1), 'n');
        }

        foreach (var (unit, perUnit) in Units)
        {
            var amount = (ticks / perUnit) + (ticks % perUnit == 0 ? 0 : 1);
            if (amount <= MaxAmount)
            {
                return Text(amount, unit);
            }
        }

        return Text(MaxAmount, 'H');
    }

    private static string Text(long amount, char unit) => amount.ToString(CultureInfo.InvariantCulture) + unit;
}
