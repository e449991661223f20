using System.Text.RegularExpressions;
using Wal.Streams.State;

namespace Wal.Streams;

/// <summary>The builder behind <see cref="Stores"/>: a name, a logging flag and a factory of the inner store.</summary>
public sealed partial class KeyValueStoreBuilder : IStoreBuilder
{
    private readonly Func<string, string, IKeyValueStore> _factory;

    /// <param name="name">The store's name: letters, digits, '.', '_' and '-' (it is part of the changelog topic's name).</param>
    /// <param name="persistent">Whether the inner store keeps data on disk.</param>
    /// <param name="loggingEnabled">Whether writes go to a changelog topic.</param>
    /// <param name="factory">Makes the inner store from the store name and the store's directory.</param>
    public KeyValueStoreBuilder(string name, bool persistent, bool loggingEnabled, Func<string, string, IKeyValueStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"Store name '{name}' may hold only letters, digits, '.', '_' and '-'.", nameof(name));
        }

        Name = name;
        Persistent = persistent;
        LoggingEnabled = loggingEnabled;
        _factory = factory;
    }

    public string Name { get; }

    public bool LoggingEnabled { get; }

    public bool Persistent { get; }

    public IStoreBuilder WithLoggingEnabled() => new KeyValueStoreBuilder(Name, Persistent, loggingEnabled: true, _factory);

    public IStoreBuilder WithLoggingDisabled() => new KeyValueStoreBuilder(Name, Persistent, loggingEnabled: false, _factory);

    public IKeyValueStore Build(string storeDirectory) => _factory(Name, storeDirectory);

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex NamePattern();
}
