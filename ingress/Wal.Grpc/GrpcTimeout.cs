namespace Wal.Grpc;

/// <summary>Parses the <c>grpc-timeout</c> header: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n).</summary>
internal static class GrpcTimeout
{
    /// <summary>
    /// The longest delay a timer holds (2^32 - 2 ms, about 49.7 days). The header allows up to
    /// 99,999,999 hours; a deadline past this bound cannot fire during any real call, so it is
    /// read as no deadline rather than failing the call.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    /// <summary>False when the header is malformed; <paramref name="timeout"/> is null when it is beyond <see cref="Longest"/>.</summary>
    public static bool TryParse(string? value, out TimeSpan? timeout)
    {
        timeout = null;
        if (value is null || value.Length is < 2 or > 9)
        {
            return false;
        }

        long amount = 0;
        foreach (var c in value.AsSpan(0, value.Length - 1))
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        // In double, so the rounding up of nanoseconds and the bound check need no integer care.
        double ticks = value[^1] switch
        {
            'H' => amount * (double)TimeSpan.TicksPerHour,
            'M' => amount * (double)TimeSpan.TicksPerMinute,
            'S' => amount * (double)TimeSpan.TicksPerSecond,
            'm' => amount * (double)TimeSpan.TicksPerMillisecond,
            'u' => amount * (double)TimeSpan.TicksPerMicrosecond,
            'n' => amount / 100.0,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        var rounded = Math.Ceiling(ticks);
        timeout = rounded > Longest.Ticks ? null : TimeSpan.FromTicks((long)rounded);
        return true;
    }
}
