using System.Collections.Concurrent;
using System.Net.Sockets;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// One CQL v4 connection to one node, shared by concurrent callers: each request gets a free
/// stream id, is written whole under a write lock, and is completed by the single reader loop
/// when the response with that stream id arrives, in whatever order the server answers.
/// </summary>
public sealed partial class CqlConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly CqlConnectionOptions _options;
    private readonly StreamIdPool _ids;
    private readonly ConcurrentDictionary<short, PendingRequest> _pending = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _readLoop;
    private int _closed;
    private int _orphaned;
    private volatile string? _closeReason;
    private Exception? _closeCause;

    private CqlConnection(TcpClient client, CqlConnectionOptions options)
    {
        _client = client;
        _stream = client.GetStream();
        _options = options;
        _ids = new StreamIdPool(options.MaxConcurrentRequests);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>The node this connection talks to, as host:port.</summary>
    public string Endpoint => $"{_options.Host}:{_options.Port}";

    /// <summary>True once the connection is lost or disposed; every later request fails as retriable.</summary>
    public bool IsClosed => _closeReason is not null;

    /// <summary>Why the connection closed; null while it is open.</summary>
    public string? CloseReason => _closeReason;

    /// <summary>Connects, sends STARTUP and authenticates with SASL PLAIN when the server asks.</summary>
    public static async Task<CqlConnection> OpenAsync(CqlConnectionOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var client = new TcpClient { NoDelay = true };
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(options.ConnectTimeout);
            try
            {
                await client.ConnectAsync(options.Host, options.Port, connect.Token);
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                client.Dispose();
                throw new CqlConnectionException($"Could not connect to Cassandra at {options.Host}:{options.Port}: {e.Message}", e);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        var connection = new CqlConnection(client, options);
        try
        {
            await connection.HandshakeAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Sends one request and returns the server's response, an ERROR included. Throws
    /// <see cref="CqlConnectionException"/> when the connection is or gets lost,
    /// <see cref="CqlRequestTimeoutException"/> after the request timeout, and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public Task<CqlResponse> SendAsync(CqlRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(request, _options.RequestTimeout, cancellationToken);

    private async Task<CqlResponse> SendAsync(CqlRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfClosed();

        // Encoded before a stream id is taken, so an unencodable request cannot leak an id.
        var frame = CqlFrameCodec.EncodeRequest(request, stream: 0);
        using var requestTimeout = new CancellationTokenSource(timeout);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token, requestTimeout.Token);
        short id;
        try
        {
            id = await _ids.RentAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw Interrupted(request, timeout, "waiting for a free stream id", cancellationToken);
        }

        var pending = new PendingRequest();
        _pending[id] = pending;
        if (IsClosed)
        {
            // Close() may have swept _pending before this entry was added.
            Forget(id, pending);
            throw Lost();
        }

        CqlFrameCodec.SetStream(frame, id);
        switch (await TryWriteAsync(frame, deadline.Token, requestTimeout.Token))
        {
            case WriteOutcome.NotStarted:
                Forget(id, pending);
                throw Interrupted(request, timeout, "waiting to write", cancellationToken);
            case WriteOutcome.CutShort:
                Forget(id, pending);
                throw cancellationToken.IsCancellationRequested
                    ? new OperationCanceledException(cancellationToken)
                    : TimedOut(request, timeout, "writing; the connection is closed");
        }

        try
        {
            return await pending.Completion.Task.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            if (pending.Completion.Task.IsCompleted)
            {
                // Answered (or failed by Close) while the deadline fired: that outcome is the true one.
                return await pending.Completion.Task;
            }

            // Classified before abandoning, which may close the connection: this request timed out.
            var interrupted = Interrupted(request, timeout, "waiting for the response", cancellationToken);
            Abandon(pending);
            throw interrupted;
        }
    }

    /// <summary>Like <see cref="SendAsync(CqlRequest, CancellationToken)"/>, but an ERROR response throws <see cref="CqlServerErrorException"/>.</summary>
    public Task<CqlResponse> RequestAsync(CqlRequest request, CancellationToken cancellationToken = default) =>
        RequestAsync(request, _options.RequestTimeout, cancellationToken);

    private async Task<CqlResponse> RequestAsync(CqlRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var response = await SendAsync(request, timeout, cancellationToken);
        return response is ErrorResponse error ? throw new CqlServerErrorException(error.Error) : response;
    }

    /// <summary>OPTIONS: the STARTUP options the server supports.</summary>
    public async Task<SupportedResponse> OptionsAsync(CancellationToken cancellationToken = default) =>
        Expect<SupportedResponse>(await RequestAsync(OptionsRequest.Instance, cancellationToken));

    /// <summary>PREPARE: the statement's id and bind-marker types.</summary>
    public async Task<PreparedResult> PrepareAsync(string query, CancellationToken cancellationToken = default) =>
        Expect<PreparedResult>(await RequestAsync(new PrepareRequest(query), cancellationToken));

    public Task<CqlResponse> QueryAsync(string query, CqlQueryParameters parameters, CancellationToken cancellationToken = default) =>
        RequestAsync(new QueryRequest(query, parameters), cancellationToken);

    public Task<CqlResponse> ExecuteAsync(ReadOnlyMemory<byte> preparedId, CqlQueryParameters parameters, CancellationToken cancellationToken = default) =>
        RequestAsync(new ExecuteRequest(preparedId, parameters), cancellationToken);

    public Task<CqlResponse> BatchAsync(BatchRequest batch, CancellationToken cancellationToken = default) =>
        RequestAsync(batch, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Close("the connection was disposed", null);
        await _readLoop;

        // _shutdown, _writeLock and the id pool stay undisposed on purpose: a request racing with
        // disposal must see "connection lost", not ObjectDisposedException, and none of them
        // holds an unmanaged resource (no wait handle is ever taken, no timer is set on _shutdown).
    }

    private static T Expect<T>(CqlResponse response)
        where T : CqlResponse =>
        response as T ?? throw new CqlProtocolException($"Expected {typeof(T).Name}, the server sent {response.GetType().Name}.");

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        // Part of connecting: bounded by the connect timeout, not by the (possibly much shorter) request timeout.
        var response = await RequestAsync(StartupRequest.Default, _options.ConnectTimeout, cancellationToken);
        if (response is ReadyResponse)
        {
            return;
        }

        if (response is not AuthenticateResponse authenticate)
        {
            throw new CqlProtocolException($"STARTUP was answered with {response.GetType().Name}.");
        }

        if (_options.Username is null || _options.Password is null)
        {
            throw new CqlAuthenticationException($"{Endpoint} requires authentication ({authenticate.Authenticator}) but no credentials are configured.");
        }

        response = await RequestAsync(AuthResponseRequest.Plain(_options.Username, _options.Password), _options.ConnectTimeout, cancellationToken);
        if (response is not AuthSuccessResponse)
        {
            // PLAIN is a single step; a challenge means an authenticator that wants more than a password.
            throw new CqlAuthenticationException($"{Endpoint} answered the SASL PLAIN credentials with {response.GetType().Name}; only PasswordAuthenticator-style PLAIN is supported.");
        }
    }
}
