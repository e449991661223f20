using System.Diagnostics.CodeAnalysis;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>The namespaces an instance currently knows, with defaults applied and validated.</summary>
public interface INamespaceRegistry
{
    /// <summary>Looks a namespace up by name. The returned object must not be mutated.</summary>
    bool TryGet(string name, [NotNullWhen(true)] out NamespaceConfig? config);

    /// <summary>The namespace whose log or dead-letter topic <paramref name="topic"/> is, if any.</summary>
    bool TryGetTopicOwner(string topic, [NotNullWhen(true)] out NamespaceConfig? owner);

    /// <summary>A snapshot of every namespace, ordered by name.</summary>
    IReadOnlyList<NamespaceConfig> All { get; }

    /// <summary>Raised after the set of namespaces changed (hot reload).</summary>
    event EventHandler? Changed;
}
