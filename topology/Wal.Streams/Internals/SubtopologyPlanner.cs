namespace Wal.Streams.Internals;

/// <summary>Splits a topology's nodes into sub-topologies: connected components over parent edges and shared stores.</summary>
internal static class SubtopologyPlanner
{
    public static IReadOnlyList<Subtopology> Plan(IReadOnlyList<NodeDefinition> nodes, IReadOnlyDictionary<string, IStoreBuilder> stores)
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

        // Numbered in the order their first node was added, so ids (and task ids, and state directories) are stable.
        var groups = nodes.GroupBy(n => Find(root, n.Name)).ToList();
        var result = new List<Subtopology>();
        foreach (var group in groups)
        {
            var members = group.ToList();
            var topics = members.OfType<ISourceDefinition>().SelectMany(s => s.Topics).ToList();
            if (topics.Count == 0)
            {
                throw new TopologyException($"Nodes [{string.Join(", ", members.Select(m => m.Name))}] are not reachable from any source.");
            }

            var storeBuilders = members.SelectMany(m => m.StoreNames).Distinct(StringComparer.Ordinal).Select(s => stores[s]).ToList();
            result.Add(new Subtopology(result.Count, members, topics, storeBuilders));
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
