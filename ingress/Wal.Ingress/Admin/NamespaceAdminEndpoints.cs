using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Wal.Grpc;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress.Admin;

/// <summary>
/// The <c>wal.v1.NamespaceAdmin</c> gRPC service over a <see cref="ControlPlane"/>: changes are
/// published to the control-plane topic, so every ingress and topology instance picks them up.
/// Reads are open to every caller; changes only to the client identities in
/// <see cref="IngressOptions.AdminClients"/> when it is set, and one at a time per instance, so two
/// concurrent creates of one name cannot both succeed here.
/// </summary>
public static class NamespaceAdminEndpoints
{
    private const string Prefix = "/wal.v1.NamespaceAdmin/";

    /// <summary>Maps CreateNamespace, UpdateNamespace, GetNamespace, ListNamespaces and DeleteNamespace.</summary>
    /// <param name="endpoints">The ingress app.</param>
    /// <param name="controlPlane">Where definitions are read and published.</param>
    /// <param name="prepare">
    /// Called with the resolved definition before it is published, e.g. to create its topics, so
    /// no instance sees a namespace whose topics do not exist yet. A <see cref="NamespaceConfigException"/>
    /// it throws (topics that exist but do not fit) refuses the change FAILED_PRECONDITION, and so does a
    /// <see cref="CreateTopicsException"/> (Kafka refused a topic), naming Kafka's reason; another <see cref="KafkaException"/>
    /// (Kafka not answering, or not saying how many partitions a topic has) UNAVAILABLE. Optional.
    /// </param>
    public static IEndpointRouteBuilder MapNamespaceAdmin(
        this IEndpointRouteBuilder endpoints, ControlPlane controlPlane, Func<NamespaceConfig, CancellationToken, Task>? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(controlPlane);
        var registry = controlPlane.Registry;
        var options = endpoints.ServiceProvider.GetRequiredService<IngressOptions>();
        var changes = new ChangeGate(options.AdminClients);

        endpoints.MapGrpcUnary(Prefix + "CreateNamespace", CreateNamespaceRequest.Parser, (request, context) => changes.RunAsync(context, async () =>
        {
            var definition = Required(request.Namespace);
            if (registry.TryGet(definition.Name, out _))
            {
                throw new RpcException(StatusCode.AlreadyExists, $"Namespace '{definition.Name}' already exists; use UpdateNamespace to change it.");
            }

            return await PublishAsync(controlPlane, definition, null, prepare, options.TopologyApplicationId, context.CancellationToken);
        }));
        endpoints.MapGrpcUnary(Prefix + "UpdateNamespace", UpdateNamespaceRequest.Parser, (request, context) => changes.RunAsync(context, async () =>
        {
            var definition = Required(request.Namespace);
            if (!registry.TryGet(definition.Name, out var current))
            {
                throw NotFound(definition.Name);
            }

            var logPartitions = await LogPartitionsIfChangedAsync(options.BootstrapServers, current, definition, context.CancellationToken);
            return await PublishAsync(controlPlane, definition, logPartitions, prepare, options.TopologyApplicationId, context.CancellationToken);
        }));
        endpoints.MapGrpcUnary(Prefix + "GetNamespace", GetNamespaceRequest.Parser, (request, _) =>
            registry.TryGet(request.Name, out var config) ? ValueTask.FromResult(config) : throw NotFound(request.Name));
        endpoints.MapGrpcUnary(Prefix + "ListNamespaces", ListNamespacesRequest.Parser, (_, _) =>
            ValueTask.FromResult(new ListNamespacesResponse { Namespaces = { registry.All } }));
        endpoints.MapGrpcUnary(Prefix + "DeleteNamespace", DeleteNamespaceRequest.Parser, (request, context) => changes.RunAsync(context, async () =>
            await WrittenAsync(controlPlane, request.Name, () => controlPlane.DeleteAsync(request.Name, context.CancellationToken))
                ? new DeleteNamespaceResponse()
                : throw NotFound(request.Name)));
        return endpoints;
    }

    private static NamespaceConfig Required(NamespaceConfig? definition) =>
        definition ?? throw new RpcException(StatusCode.InvalidArgument, "namespace: the request carries no namespace definition.");

    private static RpcException Unavailable(string name, KafkaException e) =>
        new(StatusCode.Unavailable, $"Kafka could not check or create the topics of namespace '{name}' ({e.Error.Reason}); "
            + "nothing was changed, so the call can be retried.");

    private static RpcException Refused(string name, CreateTopicsException e) =>
        new(StatusCode.FailedPrecondition, $"Kafka refused to create the topics of namespace '{name}': "
            + string.Join("; ", e.Results.Where(r => r.Error.IsError).Select(r => $"'{r.Topic}': {r.Error.Reason} ({r.Error.Code})"))
            + "; nothing was changed.");

    // A name no namespace can have is the caller's mistake, as WriteToLog answers it, not a namespace that is missing.
    private static RpcException NotFound(string name) => NamespaceValidator.IsValidName(name)
        ? new(StatusCode.NotFound, $"Namespace '{name}' does not exist; ListNamespaces shows the defined ones.")
        : new(StatusCode.InvalidArgument, $"name: '{WriteRequestValidator.Excerpt(name)}' is not a valid namespace name; ListNamespaces shows the defined ones.");

    // A changed count is taken only as the one the log already has (see NamespaceRegistry.CheckUpsert), so Kafka is asked
    // only then; null otherwise.
    private static async Task<int?> LogPartitionsIfChangedAsync(
        string bootstrapServers, NamespaceConfig current, NamespaceConfig definition, CancellationToken cancellationToken)
    {
        NamespaceConfig resolved;
        try
        {
            resolved = NamespaceDefaults.Resolve(definition);
        }
        catch (NamespaceConfigException)
        {
            // The check that follows refuses it, naming the field.
            return null;
        }

        if (resolved.Partitions == current.Partitions || resolved.Topic != current.Topic)
        {
            return null;
        }

        try
        {
            var counts = await TopicPartitionCounts.ReadAsync(bootstrapServers, [resolved.Topic], cancellationToken);
            return counts.TryGetValue(resolved.Topic, out var count) ? count : null;
        }
        catch (KafkaException e)
        {
            throw Unavailable(resolved.Name, e);
        }
    }

    // The ingress would write entries into a state store's changelog, and the topology read that changelog as a log and
    // restore the store from entries. Only the ingress knows the topology's application id, so the check is here.
    private static void RefuseTheTopologysTopics(NamespaceConfig resolved, string topologyApplicationId) =>
        NamespaceValidator.RefuseTopics(resolved, topic => ReservedTopics.WhyTheTopologys(topic, topologyApplicationId) is { } why ? $"{why}, which no namespace may use" : null);

    private static async ValueTask<NamespaceConfig> PublishAsync(
        ControlPlane controlPlane, NamespaceConfig definition, int? logPartitions, Func<NamespaceConfig, CancellationToken, Task>? prepare,
        string topologyApplicationId, CancellationToken cancellationToken)
    {
        NamespaceConfig resolved;
        try
        {
            // Validate before preparing anything, so an invalid definition leaves no trace.
            resolved = controlPlane.Check(definition, logPartitions);
            controlPlane.Registry.RefuseMove(resolved);
            RefuseTheTopologysTopics(resolved, topologyApplicationId);
        }
        catch (NamespaceConfigException e)
        {
            throw new RpcException(StatusCode.InvalidArgument, e.Message);
        }

        if (prepare is not null)
        {
            try
            {
                await prepare(resolved, cancellationToken);
            }
            catch (NamespaceConfigException e)
            {
                // Valid in itself, but what exists outside the registry (its topics) does not fit it.
                throw new RpcException(StatusCode.FailedPrecondition, e.Message);
            }
            catch (CreateTopicsException e)
            {
                // Kafka answered and refused a topic (authorization, a create policy, the replication factor): no retry
                // will do, and its reason is what the caller must act on, which INTERNAL ("the handler failed") kept
                // in this instance's log.
                throw Refused(resolved.Name, e);
            }
            catch (KafkaException e)
            {
                // Kafka did not answer the check or the creation of its topics (unreachable, no leader): nothing was
                // published, and a retry may do, which INTERNAL did not tell the caller.
                throw Unavailable(resolved.Name, e);
            }
        }

        try
        {
            return await WrittenAsync(controlPlane, resolved.Name, () => controlPlane.PutAsync(definition, logPartitions, cancellationToken));
        }
        catch (NamespaceConfigException e)
        {
            // Valid here, then rejected by every instance: a change made through another ingress came first.
            throw new RpcException(StatusCode.Aborted, e.Message);
        }
    }

    // Writing the change to the control-plane topic and reading it back can fail for reasons the caller must act on:
    // Kafka refusing the record (an ACL on that topic), or not answering. Left to the runner, they were INTERNAL ("the
    // handler failed"), their reason only in this instance's log, and nothing said whether the change was made.
    private static async Task<T> WrittenAsync<T>(ControlPlane controlPlane, string name, Func<Task<T>> write)
    {
        try
        {
            return await write();
        }
        catch (ProduceException<string, byte[]?> e) when (e.Error.IsBrokerError && e.DeliveryResult?.Status == PersistenceStatus.NotPersisted)
        {
            // The broker answered and refused the record, and librdkafka says it is not in the topic (as the ingress's
            // durability answers take it: some broker errors come after the record may have been appended).
            throw new RpcException(StatusCode.FailedPrecondition, $"Kafka refused the change of namespace '{name}' in the control-plane topic "
                + $"'{controlPlane.Topic}': {e.Error.Reason} ({e.Error.Code}); nothing was changed.");
        }
        catch (KafkaException e)
        {
            // No answer (a message timeout, the connection lost): the record may have been written, and then is applied.
            throw new RpcException(StatusCode.Unavailable, $"Kafka did not acknowledge the change of namespace '{name}' in the control-plane topic "
                + $"'{controlPlane.Topic}' ({e.Error.Reason}); it may or may not have been made: read the namespace (GetNamespace) before retrying.");
        }
        catch (TimeoutException e)
        {
            // Written, so every instance applies it, but this one had not read it back in time: a retry at once could
            // pass its check against the stale registry.
            throw new RpcException(StatusCode.Unavailable, $"{e.Message} The change is made; read the namespace (GetNamespace) before changing it again.");
        }
    }
}
