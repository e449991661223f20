namespace Wal.Streams.Internals;

/// <summary>Splits a topology's nodes into sub-topologies: connected components over parent edges and shared stores.</summary>
internal static class SubtopologyPlanner
{
    /// <param name="nodes">Every node, in the order added.</param>
    /// <param name="stores">Every store by name.</param>
    /// <param name="names">Sub-topology names given by node: the sub-topology that holds the node takes the name.</param>
    public static IReadOnlyList<Subtopology> Plan(
        IReadOnlyList<NodeDefinition> nodes, IReadOnlyDictionary<string, IStoreBuilder> stores, IReadOnlyDictionary<string, string> names)
    {
        var root = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            root[node.Name] = node.Name;
        }

        var storeOwner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            foreach (var parent in node.Parents)
            {
                Union(root, node.Name, parent);
            }

            foreach (var store in node.StoreNames)
            {
                if (storeOwner.TryGetValue(store, out var other))
                {
                    Union(root, node.Name, other);
                }
                else
                {
                    storeOwner[store] = node.Name;
                }
            }
        }

        // Numbered in the order their first node was added: stable for the same topology, but a sub-topology added before
        // others renumbers them (and their task ids and state directories). A name keeps its tasks' ids whatever else changes.
        var groups = nodes.GroupBy(n => Find(root, n.Name)).ToList();
        var result = new List<Subtopology>();
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var members = group.ToList();
            var given = members.Where(m => names.ContainsKey(m.Name)).Select(m => names[m.Name]).Distinct(StringComparer.Ordinal).ToList();
            if (given.Count > 1)
            {
                throw new TopologyException(
                    $"Nodes [{string.Join(", ", members.Select(m => m.Name))}] are one sub-topology, named both {string.Join(" and ", given.Select(g => $"'{g}'"))}.");
            }

            var name = given.Count == 1 ? given[0] : result.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!taken.TryAdd(name, members[0].Name))
            {
                throw new TopologyException($"Two sub-topologies are named '{name}' (the ones of nodes '{taken[name]}' and '{members[0].Name}').");
            }

            var topics = members.OfType<ISourceDefinition>().SelectMany(s => s.Topics).ToList();
            if (topics.Count == 0)
            {
                throw new TopologyException($"Nodes [{string.Join(", ", members.Select(m => m.Name))}] are not reachable from any source.");
            }

            var storeBuilders = members.SelectMany(m => m.StoreNames).Distinct(StringComparer.Ordinal).Select(s => stores[s]).ToList();
            result.Add(new Subtopology(result.Count, name, members, topics, storeBuilders));
        }

        return result;
    }

    private static string Find(Dictionary<string, string> root, string name)
    {
        while (root[name] != name)
        {
            root[name] = root[root[name]];
            name = root[name];
        }

        return name;
    }

    private static void Union(Dictionary<string, string> root, string a, string b)
    {
        var ra = Find(root, a);
        var rb = Find(root, b);
        if (ra != rb)
        {
            root[rb] = ra;
        }
    }
}
