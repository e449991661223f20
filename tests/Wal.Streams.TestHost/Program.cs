using Wal.Streams;
using Wal.Streams.TestHost;

// usage: Wal.Streams.TestHost <bootstrap-servers> <application-id> <state-dir> <input-topic> <output-topic> [AtLeastOnce|ExactlyOnce]
// Prints RUNNING once every task is restored and processing, and runs until stdin closes (then it closes cleanly).
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: Wal.Streams.TestHost <bootstrap-servers> <application-id> <state-dir> <input-topic> <output-topic> [AtLeastOnce|ExactlyOnce]");
    return 2;
}

var config = new StreamsConfig
{
    BootstrapServers = args[0],
    ApplicationId = args[1],
    StateDirectory = args[2],
    ProcessingGuarantee = args.Length > 5 ? Enum.Parse<ProcessingGuarantee>(args[5]) : ProcessingGuarantee.AtLeastOnce,
    CommitInterval = TimeSpan.FromMilliseconds(500),
    SessionTimeout = TimeSpan.FromSeconds(6),
    HeartbeatInterval = TimeSpan.FromSeconds(1),
    MaxPollInterval = TimeSpan.FromSeconds(30),
};

await using var streams = new KafkaStreams(SequenceCountingProcessor.Topology(args[3], args[4]), config);
streams.StateChanged += (_, e) =>
{
    Console.WriteLine(e.NewState == KafkaStreamsState.Running ? "RUNNING" : $"STATE {e.NewState}");
    Console.Out.Flush();
};
await streams.StartAsync();
await Console.In.ReadToEndAsync();
await streams.CloseAsync();
return streams.State == KafkaStreamsState.Error ? 1 : 0;
