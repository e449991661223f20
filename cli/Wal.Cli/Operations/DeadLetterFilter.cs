namespace Wal.Cli.Operations;

/// <summary>
/// Which dead letters a redrive takes: <c>reason=permanent</c>, <c>error~timeout</c> (substring,
/// case-insensitive) or <c>id=abc</c>. Empty means all.
/// </summary>
internal sealed record DeadLetterFilter(string Field, string Operator, string Value)
{
    public static readonly DeadLetterFilter All = new("", "", "");

    public string Text => Field.Length == 0 ? "all" : $"{Field}{Operator}{Value}";

    /// <summary>Null with <paramref name="error"/> set when <paramref name="text"/> is not a filter.</summary>
    public static DeadLetterFilter? Parse(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            return All;
        }

        var at = text.IndexOfAny(['=', '~']);
        var field = at > 0 ? text[..at] : "";
        if (at <= 0 || field is not ("reason" or "error" or "id") || at == text.Length - 1)
        {
            error = $"--filter '{text}' is not one of reason=VALUE, error~TEXT, id=ID (or error=VALUE).";
            return null;
        }

        return new DeadLetterFilter(field, text[at].ToString(), text[(at + 1)..]);
    }

    public bool Matches(DeadLetter letter)
    {
        if (Field.Length == 0)
        {
            return true;
        }

        var actual = Field switch { "reason" => letter.Reason, "error" => letter.Error, _ => letter.Id };
        return Operator == "~"
            ? actual.Contains(Value, StringComparison.OrdinalIgnoreCase)
            : string.Equals(actual, Value, StringComparison.Ordinal);
    }
}
