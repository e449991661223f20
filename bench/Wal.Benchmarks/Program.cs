using Wal.Benchmarks;
using Wal.Benchmarks.DelayQueue;

if (args is [MockKafkaChild.Command, ..])
{
    return await MockKafkaChild.RunAsync(args[1..]);
}

// Each benchmark registers here; `all` runs them one after another.
IRatioBenchmark[] benchmarks =
[
    new MemcachedRawSetBenchmark(),
    new Wal.Benchmarks.RocksDb.RocksDbStoreBenchmark(),
    new PassThroughBenchmark(),
    new RestoreBenchmark(),
    new Wal.Benchmarks.Mutations.MutationApplyBenchmark(),
    new DelayQueueBenchmark(),
    new Wal.Benchmarks.Ingress.IngressBenchmark(),
];

var name = args.Length > 0 ? args[0] : "list";
if (name is "list" or "--help" or "-h")
{
    Console.WriteLine("usage: dotnet run -c Release --project bench/Wal.Benchmarks -- <name>|all");
    foreach (var b in benchmarks)
    {
        Console.WriteLine($"  {b.Name,-28} {b.Description}");
    }

    return 0;
}

var selected = name == "all" ? benchmarks : benchmarks.Where(b => b.Name == name).ToArray();
if (selected.Length == 0)
{
    Console.Error.WriteLine($"No benchmark named '{name}'. Run without arguments to list them.");
    return 2;
}

var allMet = true;
foreach (var benchmark in selected)
{
    var report = await benchmark.RunAsync(CancellationToken.None);
    Console.WriteLine(report);
    allMet &= report.TargetMet;
}

return allMet ? 0 : 1;
