using Wal.Grpc;

namespace Wal.Ingress.Admin;

/// <summary>
/// Who may change namespaces, and one change at a time: a create checks that the name is free and
/// then publishes, and without the gate two creates of one name could both pass the check. (Two
/// instances can still race; the control-plane topic keeps the later definition.)
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as the app, and the semaphore never hands out a wait handle: there is nothing to release.")]
internal sealed class ChangeGate(IReadOnlyList<string> adminClients)
{
    private readonly SemaphoreSlim _one = new(1, 1);

    public async ValueTask<T> RunAsync<T>(GrpcCallContext context, Func<Task<T>> change)
    {
        Authorize(CallerIdentity.From(context.HttpContext));
        await _one.WaitAsync(context.CancellationToken);
        try
        {
            return await change();
        }
        finally
        {
            _one.Release();
        }
    }

    private void Authorize(CallerIdentity caller)
    {
        if (adminClients.Count == 0)
        {
            return;
        }

        if (!caller.IsAuthenticated)
        {
            throw new RpcException(StatusCode.Unauthenticated, "Changing namespaces needs a client certificate named in the ingress's AdminClients.");
        }

        if (!caller.IsAllowed(adminClients))
        {
            throw new RpcException(StatusCode.PermissionDenied, $"Client '{caller.Description}' may not change namespaces; the ingress's AdminClients lists who may.");
        }
    }
}
