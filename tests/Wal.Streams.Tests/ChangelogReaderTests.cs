using System.Buffers.Binary;
using System.Reflection;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>
/// The restore consumer against a real changelog, with its assignment calls recorded. Restoring tasks join and leave it
/// one partition at a time: replacing the whole assignment stopped every partition still restoring at each change, and
/// librdkafka 2.0.2 aborts the process when a partition is stopped again before its first stop completed.
/// </summary>
public sealed class ChangelogReaderTests : IDisposable
{
    private const string ApplicationId = "reader-app";
    private const string Changelog = ApplicationId + "-" + CountingProcessor.StoreName + "-changelog";

    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), "wal-reader-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void Restore_TasksStartingAndFinishingAtDifferentTimes_EachPartitionAssignedOnceAndUnassignedOnce()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic(Changelog, partitions: 3);
        // Each partition holds one key's changes, the last one its count. The second is too long to finish in this test:
        // at 20,000 a clean-clone run on a loaded machine once restored it before the first (of 1,000) was done.
        var sizes = new[] { 1_000, 200_000, 10 };
        Produce(cluster, sizes);
        var config = new StreamsConfig { ApplicationId = ApplicationId, BootstrapServers = cluster.BootstrapServers, StateDirectory = _stateDirectory };
        var subtopology = CountingProcessor.Topology("in", "out").Subtopologies.Single();
        var consumer = AssignmentRecorder.Wrap(new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = ApplicationId + "-restore",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build(), out var calls);
        using var reader = new ChangelogReader(consumer, NullLogger.Instance);
        var tasks = sizes.Select((_, p) => new StreamTask(
            new TaskId(0, p), subtopology, new HashSet<TopicPartition> { new("in", p) }, config, TimeProvider.System, new NoOutputCollector(), NullLogger.Instance)).ToList();

        // The first task starts restoring and a second joins while the first is under way; the third joins after the
        // first is done, and the second is closed before its end.
        Assert.False(reader.Register(tasks[0]));
        var completed = new List<StreamTask>();
        RestoreUntil(() => tasks[0].State.Entries.Single().Position > 0);
        Assert.False(reader.Register(tasks[1]));
        RestoreUntil(() => completed.Contains(tasks[0]));
        Assert.False(reader.Register(tasks[2]));
        reader.Unregister(tasks[1]);
        RestoreUntil(() => completed.Contains(tasks[2]));

        Assert.Equal([tasks[0], tasks[2]], completed);
        Assert.False(reader.HasActive);
        Assert.Equal(1_000, CountIn(tasks[0]));
        Assert.InRange(tasks[1].State.Entries.Single().Position, 0, 199_999);
        Assert.Equal(10, CountIn(tasks[2]));
        lock (calls)
        {
            // Whole-assignment calls would take every partition still restoring out and back in.
            Assert.DoesNotContain(calls, c => c.Method is "Assign" or "Unassign");
            for (var partition = 0; partition < sizes.Length; partition++)
            {
                var changelog = new TopicPartition(Changelog, partition);
                Assert.Equal(["IncrementalAssign", "IncrementalUnassign"], calls.Where(c => c.Partitions.Contains(changelog)).Select(c => c.Method));
            }
        }

        foreach (var task in tasks)
        {
            task.State.Close();
        }

        void RestoreUntil(Func<bool> done)
        {
            var deadline = DateTime.UtcNow + KafkaTestKit.Deadline;
            while (!done())
            {
                Assert.True(DateTime.UtcNow < deadline, "restoring made no progress before the deadline");
                completed.AddRange(reader.Restore(max: 50, TimeSpan.FromMilliseconds(100)));
            }
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    private static long CountIn(StreamTask task) =>
        CountingProcessor.Read(task.State.Entries.Single().Inner.Get(Encoding.UTF8.GetBytes("k")));

    private static void Produce(EmbeddedKafkaCluster cluster, int[] sizes)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5, QueueBufferingMaxMessages = 1_000_000 }).Build();
        for (var partition = 0; partition < sizes.Length; partition++)
        {
            for (var count = 1L; count <= sizes[partition]; count++)
            {
                var value = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(value, count);
                producer.Produce(new TopicPartition(Changelog, partition), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k"), Value = value });
            }
        }

        producer.Flush(KafkaTestKit.Deadline);
    }

    /// <summary>Passes every call to a real consumer and records the ones that change its assignment.</summary>
    public class AssignmentRecorder : DispatchProxy
    {
        private static readonly HashSet<string> AssignmentMethods = ["Assign", "Unassign", "IncrementalAssign", "IncrementalUnassign"];

        private IConsumer<byte[]?, byte[]?> _inner = null!;
        private List<(string Method, List<TopicPartition> Partitions)> _calls = null!;

        internal static IConsumer<byte[]?, byte[]?> Wrap(IConsumer<byte[]?, byte[]?> inner, out List<(string Method, List<TopicPartition> Partitions)> calls)
        {
            var proxy = Create<IConsumer<byte[]?, byte[]?>, AssignmentRecorder>();
            var recorder = (AssignmentRecorder)(object)proxy;
            recorder._inner = inner;
            recorder._calls = calls = [];
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (AssignmentMethods.Contains(targetMethod.Name))
            {
                var partitions = args is [System.Collections.IEnumerable list] ? list.Cast<object>().Select(PartitionOf).ToList() : [];
                lock (_calls)
                {
                    _calls.Add((targetMethod.Name, partitions));
                }
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }

        private static TopicPartition PartitionOf(object partition) => partition switch
        {
            TopicPartitionOffset withOffset => withOffset.TopicPartition,
            _ => (TopicPartition)partition,
        };
    }
}
