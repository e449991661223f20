using System.Text.RegularExpressions;

namespace Wal.Cli.Operations;

/// <summary>
/// The request ids a mutation is known by once a replay (<c>.replay-STAMP</c>) or a redrive (<c>.redrive-P-O</c>) has
/// copied it, perhaps a copy of a copy: an operator names the mutation by the id it was written under, and every copy
/// carries the same chunks.
/// </summary>
internal static partial class MutationCopies
{
    /// <summary><paramref name="requestId"/>, then the id it is a copy of, and so on down to the one first written.</summary>
    public static IEnumerable<string> SelfAndOriginals(string requestId)
    {
        for (var id = requestId; ; id = id[..CopySuffix().Match(id).Index])
        {
            yield return id;
            if (!CopySuffix().IsMatch(id))
            {
                yield break;
            }
        }
    }

    [GeneratedRegex(@"\.(?:replay-[0-9]+|redrive-[0-9]+-[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex CopySuffix();
}
