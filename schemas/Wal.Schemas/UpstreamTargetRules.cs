namespace Wal.Schemas.V1;

/// <summary>
/// What an <see cref="UpstreamTarget"/> must be for a request to be sent with it: part of the contract, so the
/// ingress refuses a bad one at write time and the upstream sink refuses the same one permanently (a record
/// written before a rule existed must not be retried for nothing, or throw).
/// </summary>
public static class UpstreamTargetRules
{
    /// <summary>Carries the write's id on every call, for the upstream to dedupe by; set by Wal only.</summary>
    public const string DeliveryIdHeader = "Wal-Delivery-Id";

    /// <summary>Carries the write's version on every call; set by Wal only.</summary>
    public const string VersionHeader = "Wal-Version";

    private const string Separators = "()<>@,;:\\\"/[]?={}";

    /// <summary>The first problem with <paramref name="target"/>, naming the field, or null when a request can be made from it.</summary>
    /// <param name="target">The target.</param>
    /// <param name="field">Where the target sits, for the message: a request's, or a namespace's <c>default_target.upstream</c>.</param>
    public static string? Problem(UpstreamTarget target, string field = "target.upstream")
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!Uri.TryCreate(target.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            return $"{field}.url: '{target.Url}' is not an absolute http or https URL";
        }

        if (target.Timeout is { } timeout && !DurationRules.IsValidNonNegative(timeout))
        {
            return $"{field}.timeout: {timeout} is not a valid, non-negative duration";
        }

        foreach (var (name, value) in target.Headers)
        {
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= '\u007f' || Separators.Contains(c)))
            {
                return $"{field}.headers: '{name}' is not a valid HTTP header name";
            }

            if (name.Equals(DeliveryIdHeader, StringComparison.OrdinalIgnoreCase) || name.Equals(VersionHeader, StringComparison.OrdinalIgnoreCase))
            {
                return $"{field}.headers: '{name}' is set by Wal and cannot be given in the target";
            }

            // Visible ASCII, space and tab: what every HTTP stack sends as it is. Line breaks would start a header of
            // the writer's choosing, and .NET refuses anything else at send time, which no retry could change.
            if (value.Any(c => c is not ('\t' or (>= ' ' and <= '~'))))
            {
                return $"{field}.headers: the value of '{name}' may hold only visible ASCII characters, spaces and tabs";
            }
        }

        return null;
    }
}
