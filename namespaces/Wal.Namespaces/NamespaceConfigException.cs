namespace Wal.Namespaces;

/// <summary>A namespace definition is invalid; <see cref="Errors"/> name each offending field.</summary>
public sealed class NamespaceConfigException : Exception
{
    public NamespaceConfigException(string name, IReadOnlyList<string> errors)
        : base($"Namespace '{name}' is invalid: {string.Join("; ", errors)}")
    {
        Namespace = name;
        Errors = errors;
    }

    public NamespaceConfigException()
    {
        Namespace = string.Empty;
        Errors = [];
    }

    public NamespaceConfigException(string message)
        : base(message)
    {
        Namespace = string.Empty;
        Errors = [message];
    }

    public NamespaceConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Namespace = string.Empty;
        Errors = [message];
    }

    public string Namespace { get; }

    public IReadOnlyList<string> Errors { get; }
}
