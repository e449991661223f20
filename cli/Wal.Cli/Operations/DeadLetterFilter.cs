using Wal.Topology.Dispatch;

namespace Wal.Cli.Operations;

/// <summary>
/// Which dead letters a redrive takes: <c>FIELD=VALUE</c> (the whole value) or <c>FIELD~TEXT</c> (a substring), FIELD
/// being <c>reason</c>, <c>error</c> or <c>id</c>. Reasons and errors compare case-insensitively, as an operator reads
/// them; ids exactly, as writers chose them. Empty means all.
/// </summary>
internal sealed record DeadLetterFilter(string Field, string Operator, string Value)
{
    public static readonly DeadLetterFilter All = new("", "", "");

    /// <summary>Every reason the topology writes in <c>wal.reason</c>.</summary>
    public static IReadOnlyList<string> Reasons => DeadLetterReasons.All;

    /// <summary>
    /// Names the filter's consumer group. A reason or an error is named in lower case, as it matches in any case, so that
    /// <c>error~Refused</c> resumes where <c>error~refused</c> stopped rather than take every record again under a
    /// position of its own. An id keeps its case: each spelling matches other dead letters.
    /// </summary>
    public string Text => Field.Length == 0 ? "all" : $"{Field}{Operator}{(Field == "id" ? Value : Value.ToLowerInvariant())}";

    /// <summary>Null with <paramref name="error"/> set when <paramref name="text"/> is not a filter.</summary>
    public static DeadLetterFilter? Parse(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            return All;
        }

        var at = text.IndexOfAny(['=', '~']);
        var field = at > 0 ? text[..at].ToLowerInvariant() : "";
        if (at <= 0 || field is not ("reason" or "error" or "id") || at == text.Length - 1)
        {
            error = $"--filter '{text}' is not one of reason=REASON, error~TEXT, error=ERROR, id=ID (a FIELD~TEXT matches a substring).";
            return null;
        }

        var op = text[at].ToString();
        var value = text[(at + 1)..];
        if (field == "reason" && op == "=")
        {
            // A reason no dead letter has matches nothing, and a redrive would still commit its position past them all.
            value = value.ToLowerInvariant();
            if (!Reasons.Contains(value))
            {
                error = $"--filter '{text}': '{value}' is not a dead letter's reason; one of {string.Join(", ", Reasons)}.";
                return null;
            }
        }

        return new DeadLetterFilter(field, op, value);
    }

    public bool Matches(DeadLetter letter)
    {
        if (Field.Length == 0)
        {
            return true;
        }

        var actual = Field switch { "reason" => letter.Reason, "error" => letter.Error, _ => letter.Id };
        var comparison = Field == "id" ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        return Operator == "~" ? actual.Contains(Value, comparison) : string.Equals(actual, Value, comparison);
    }
}
