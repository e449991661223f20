using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Client;

/// <summary>
/// One WriteToLogStream call, for producers that write more than one call per write can carry:
/// many writes on one HTTP/2 stream, each answered by its own acknowledgement.
/// <code>
/// await using var stream = client.OpenWriteStream();
/// var answers = requests.Select(r => stream.WriteAsync(r)).ToList();
/// await stream.CompleteAsync();
/// </code>
/// A write's answer is as honest as a unary one: its acknowledgement when one came. When the call
/// ends first, a write the server never read is FALSE (it said so, or the write never left this
/// side) and one that may have reached it is UNKNOWN. At most
/// <see cref="WalClientOptions.MaxStreamInFlight"/> writes await their answers; further writes
/// wait for room, and the server's own bound pushes back through HTTP/2 flow control. A write the
/// server shed saying when to come back (its namespace's rate quota) goes out again after that
/// wait, as a unary call (see <see cref="WriteAsync"/>), and keeps its room until that is answered.
/// </summary>
public sealed class WalWriteStream : IAsyncDisposable
{
    private readonly ConcurrentDictionary<ulong, PendingWrite> _pending = new();
    private readonly SemaphoreSlim _room;
    // Writes on their way out: one sender puts whatever has queued onto the stream with one
    // flush, so a burst of writes costs one HTTP/2 flush, not one each.
    private readonly Channel<PendingWrite> _outgoing =
        Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly RequestBody _body = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _reading;
    private readonly Task _sending;
    private readonly byte[] _prefix = new byte[5];
    // Writes taken but not yet queued: completing waits for them, then ends the queue.
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _allQueued = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _unqueued;
    // Writes not yet answered: completing and disposing wait for them too, since a shed write's second attempt, a unary
    // call, may outlast the stream. Disposing cancels those attempts.
    private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<WriteToLogRequest, CancellationToken, Task<WriteToLogResponse>> _sendAgain;
    private readonly TimeSpan _longestPushback;
    private int _unanswered;
    private bool _completing;
    private ulong _lastId;
    // Why writes are no longer taken by the server: set when the call ends, or earlier, when the
    // ingress says it is stopping.
    private volatile string? _ended;

    private const string IngressStopping = "the ingress is stopping; it acknowledged every write it took from this stream and takes no other";

    internal WalWriteStream(
        HttpClient http, string path, int maxInFlight, Func<WriteToLogRequest, CancellationToken, Task<WriteToLogResponse>> sendAgain, TimeSpan longestPushback)
    {
        _room = new SemaphoreSlim(maxInFlight, maxInFlight);
        _sendAgain = sendAgain;
        _longestPushback = longestPushback;
        var message = WalClient.GrpcRequest(path, _body);
        _reading = Task.Run(() => ReadAsync(http, message));
        _sending = Task.Run(SendAsync);
    }

    /// <summary>
    /// Sends <paramref name="request"/> (a copy, with its client_id set) and returns its answer.
    /// Never throws for the server's or the network's reasons. <paramref name="cancellationToken"/>
    /// ends the wait: while the write waits for room, the answer is FALSE; once it is queued to
    /// be sent, UNKNOWN; while it waits out a pushback, the refusal (FALSE).
    /// </summary>
    /// <remarks>
    /// A write the server shed with a pushback (RESOURCE_EXHAUSTED, <c>retry_pushback_ms</c> in its acknowledgement)
    /// was not written, so once the pushback has passed it goes out again as a unary WriteToLog, which retries a further
    /// shed as any unary write does (<see cref="WalClientOptions.ShedAttempts"/>, the attempt on the stream counted as the
    /// first, within <see cref="WalClientOptions.Deadline"/>); its answer is this write's. Not on the stream: its request side may have
    /// ended by then (<see cref="CompleteAsync"/>). A pushback of <see cref="WalClientOptions.Deadline"/> or more, or
    /// none, and <see cref="WalClientOptions.ShedAttempts"/> 1, leave the refusal as the answer.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The stream was completed or disposed.</exception>
    public async Task<WriteToLogResponse> WriteAsync(WriteToLogRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_completing)
            {
                throw new InvalidOperationException("The stream was completed or disposed: open another for more writes.");
            }

            _unqueued++;
            _unanswered++;
        }

        try
        {
            // A copy: the caller may reuse its request object once this returns, or change it while a retry waits.
            var copy = request.Clone();
            var (answer, pushback) = await SendOnStreamAsync(copy, cancellationToken);
            if (pushback is not { } wait)
            {
                return answer;
            }

            try
            {
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
                if (!await WalClient.WaitOutPushbackAsync(wait, waiting.Token))
                {
                    return answer;
                }

                copy.ClientId = 0;
                var again = await _sendAgain(copy, waiting.Token);
                // As every answer on the stream: with the write's id, also where the unary call could not say it.
                again.Id = again.Id.Length > 0 ? again.Id : copy.Id;
                return again;
            }
            finally
            {
                // Held since the shed (see Settle): the write awaited its answer all along.
                _room.Release();
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--_unanswered == 0 && _completing)
                {
                    _allAnswered.TrySetResult();
                }
            }
        }
    }

    // The write's attempt on this stream (request is the write's own copy, given its client_id here): its answer, and the
    // pushback after which to send it again when it was shed.
    private async Task<(WriteToLogResponse Answer, TimeSpan? Pushback)> SendOnStreamAsync(WriteToLogRequest request, CancellationToken cancellationToken)
    {
        PendingWrite write;
        try
        {
            try
            {
                await _room.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return (NotSent(request.Id, "the caller stopped waiting for room on the stream"), null);
            }

            request.ClientId = Interlocked.Increment(ref _lastId);
            write = new PendingWrite(request.ClientId, request.Id, WalClient.Frame(request));
            _pending[write.ClientId] = write;
            // Checked after registering the write: the reader answers every write it finds
            // registered when the call ends, and this one sees the end if it came first (the
            // fences on both sides keep either from reading before its own store is seen).
            Interlocked.MemoryBarrier();
            if (_ended is { } ended)
            {
                Settle(write.ClientId, NotSent(write.Id, ended));
            }
            else
            {
                _outgoing.Writer.TryWrite(write);
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--_unqueued == 0 && _completing)
                {
                    _allQueued.TrySetResult();
                }
            }
        }

        try
        {
            return await write.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Not sent again for a caller that stopped waiting: a shed answer still to come gives its room back here.
            _ = write.Task.ContinueWith(
                static (answered, room) =>
                {
                    if (answered.Result.Pushback is not null)
                    {
                        ((SemaphoreSlim)room!).Release();
                    }
                },
                _room, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return (new WriteToLogResponse { Durable = Trilean.Unknown, Id = request.Id, Message = "the caller stopped waiting after the write was queued; it may or may not be durable" }, null);
        }
    }

    /// <summary>
    /// Takes no further writes, sends those already given to <see cref="WriteAsync"/>, ends the
    /// request side, then waits until every write has its answer (a shed write's second attempt
    /// included) and the call has ended. When
    /// <paramref name="cancellationToken"/> fires first, the call is ended at once, as
    /// <see cref="DisposeAsync"/> ends it (every write gets its answer), and this throws.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        StopTakingWrites();
        try
        {
            await _allQueued.Task.WaitAsync(cancellationToken);
            _outgoing.Writer.TryComplete();
            await _sending.WaitAsync(cancellationToken);
            await _reading.WaitAsync(cancellationToken);
            await _allAnswered.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Ends the call at once if it is still open: writes without an acknowledgement are answered as the call's end
    /// decides, and a shed write waiting to go out again keeps its refusal (or the answer of its second attempt, cut short).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        StopTakingWrites();
        await _abort.CancelAsync();
        _outgoing.Writer.TryComplete();
        await _sending;
        await _reading;
        await _allAnswered.Task;
    }

    private void StopTakingWrites()
    {
        lock (_gate)
        {
            _completing = true;
            if (_unqueued == 0)
            {
                _allQueued.TrySetResult();
            }

            if (_unanswered == 0)
            {
                _allAnswered.TrySetResult();
            }
        }
    }

    // The one sender: takes each attempt HTTP/2 makes at sending the request (see RequestBody)
    // and writes each batch that has queued with one flush. Once the queue ends it ends the
    // attempt's request side. If the attempt breaks, it waits for the next: HTTP/2 makes one when
    // the server refused the stream before processing any of it, and then every write sent on
    // the refused one goes again first. Once the call has ended there are no more attempts, and
    // the reader answers every write still waiting by how the call ended.
    private async Task SendAsync()
    {
        var batch = new MemoryStream();
        var outgoing = _outgoing.Reader;
        var queueEnded = false;
        try
        {
            while (await _body.NextAttemptAsync() is { } attempt)
            {
                try
                {
                    using var broken = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token, attempt.CancelledByHttp, attempt.Replaced);
                    batch.SetLength(0);
                    foreach (var refused in _pending.Values.Where(w => w.Sent).OrderBy(w => w.ClientId))
                    {
                        batch.Write(refused.Frame);
                    }

                    while (true)
                    {
                        if (batch.Length == 0)
                        {
                            if (queueEnded || !await outgoing.WaitToReadAsync(broken.Token))
                            {
                                queueEnded = true;
                                break;
                            }

                            if (_ended is not null)
                            {
                                // The ingress is stopping: what is still queued was answered FALSE and stays here.
                                break;
                            }
                        }

                        while (outgoing.TryRead(out var write))
                        {
                            write.Sent = true;
                            batch.Write(write.Frame);
                        }

                        await attempt.Stream.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length), broken.Token);
                        await attempt.Stream.FlushAsync(broken.Token);
                        batch.SetLength(0);
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
                {
                    // This attempt broke (or the stream was disposed): the next one, if HTTP/2 makes one, sends again.
                }
                finally
                {
                    _body.Finish(attempt);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else would leave queued writes unsent while the call stays open, waiting
            // for acks that cannot come: end the call, so the reader answers them.
            await _abort.CancelAsync();
        }
    }

    private async Task ReadAsync(HttpClient http, HttpRequestMessage message)
    {
        string ended;
        var unreadNotWritten = false;
        try
        {
            using (message)
            using (var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, _abort.Token))
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    ended = $"the stream ended with HTTP {(int)response.StatusCode}";
                }
                else
                {
                    var body = await response.Content.ReadAsStreamAsync(_abort.Token);
                    while (await ReadAckAsync(body) is { } ack)
                    {
                        if (ack.Ending)
                        {
                            StopSending(IngressStopping);
                            continue;
                        }

                        var answer = ack.Response ?? new WriteToLogResponse();
                        Settle(ack.ClientId, ack.Status == 0 ? WalClient.Checked(answer) : WalClient.Answer(ack.Status, answer, answer.Message), ShedPushback(ack));
                    }

                    // A trailers-only response carries the status, and the mark, in its headers.
                    var (headers, status, text) = WalClient.StatusOf(response);
                    ended = $"the stream ended with gRPC status {status} ({text})";
                    // Only the ingress's own word makes an unacknowledged write FALSE: a refusal
                    // status alone may come from a proxy, or after writes had reached Kafka.
                    unreadNotWritten = WalClient.Header(headers, WriteToLogStreamMetadata.AllReadAcknowledged) == "true";
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever ended the call, every write still waiting gets its answer below.
            ended = $"the stream broke: {e.Message}";
            // REFUSED_STREAM after the attempts HTTP/2 makes again: the server processed none of the call, so nothing
            // on it was written (a server must not refuse a stream so once it has passed any of it on).
            unreadNotWritten = WalClient.RefusedUnprocessed(e);
        }

        _ended = ended;
        // The writer registers, then reads _ended; this stores _ended, then reads the registrations. Without a full
        // fence between each store and its read, both may read the other's old value: the write is then never answered.
        Interlocked.MemoryBarrier();
        _body.Fail();
        foreach (var (id, write) in _pending)
        {
            Settle(id, unreadNotWritten || !write.Sent
                ? NotSent(write.Id, $"{ended}, and the server did not read this write")
                : new WriteToLogResponse { Durable = Trilean.Unknown, Id = write.Id, Message = $"{ended} before this write's acknowledgement; it may or may not be durable" });
        }
    }

    // The ingress is stopping: it has acknowledged every write it took, and takes no other. Every
    // write still waiting is FALSE, and so is every later one; the sender stops, which half-closes
    // the request side, and the ingress ends the call once it sees that.
    private void StopSending(string why)
    {
        _ended = why;
        Interlocked.MemoryBarrier();
        _outgoing.Writer.TryComplete();
        foreach (var (id, write) in _pending)
        {
            Settle(id, NotSent(write.Id, why));
        }
    }

    // The next acknowledgement, or null at the end of the response; a frame that is not one throws.
    private async Task<WriteToLogAck?> ReadAckAsync(Stream body)
    {
        var prefix = _prefix;
        var read = await body.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, _abort.Token);
        if (read == 0)
        {
            return null;
        }

        var length = read == prefix.Length ? BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(1)) : uint.MaxValue;
        if (prefix[0] != 0 || length > 1 << 20)
        {
            throw new InvalidDataException("the server sent a compressed, oversized or cut-off acknowledgement");
        }

        var message = new byte[length];
        await body.ReadExactlyAsync(message, _abort.Token);
        try
        {
            return WriteToLogAck.Parser.ParseFrom(message);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"the server sent an acknowledgement that does not parse: {e.Message}", e);
        }
    }

    // When to send a shed write again: only after a refusal that says when (the rate quota), sooner than the client's
    // deadline; never after -1 (a write no retry can admit) or a full in-flight bound, which say nothing of when.
    private TimeSpan? ShedPushback(WriteToLogAck ack) =>
        ack.Status == WalClient.ResourceExhausted && ack.HasRetryPushbackMs && ack.RetryPushbackMs >= 0
        && ack.RetryPushbackMs < _longestPushback.TotalMilliseconds
            ? TimeSpan.FromMilliseconds(ack.RetryPushbackMs)
            : null;

    // Exactly once per write, whoever comes first: its acknowledgement or the call's end. A write shed to be sent again
    // keeps its room until its second attempt is answered (WriteAsync gives it back): given back at the shed, the next
    // write went out at once, and a producer pipelining into a namespace over its rate had every write shed and waiting,
    // beyond MaxStreamInFlight, to go out again together as unary calls.
    private void Settle(ulong clientId, WriteToLogResponse answer, TimeSpan? pushback = null)
    {
        if (_pending.TryRemove(clientId, out var write))
        {
            write.TrySetResult((answer, pushback));
            if (pushback is null)
            {
                _room.Release();
            }
        }
    }

    private static WriteToLogResponse NotSent(string id, string why) =>
        new() { Durable = Trilean.False, Id = id, Message = $"not written: {why}" };

    private sealed class PendingWrite(ulong clientId, string id, byte[] frame)
        : TaskCompletionSource<(WriteToLogResponse Answer, TimeSpan? Pushback)>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ulong ClientId => clientId;

        public string Id => id;

        /// <summary>The request, framed, kept until answered: an attempt HTTP/2 makes again sends it again.</summary>
        public byte[] Frame => frame;

        public volatile bool Sent;
    }

    /// <summary>
    /// The request side of the call. HTTP/2 may send a request more than once: when the server
    /// refuses its stream before processing any of it (REFUSED_STREAM, or a GOAWAY whose last
    /// stream is below it, as a server that is stopping sends), it tries again on another stream
    /// and asks this content for its body again. Each such call is an attempt with its own stream.
    /// </summary>
    private sealed class RequestBody : HttpContent
    {
        private readonly Channel<Attempt> _attempts = Channel.CreateUnbounded<Attempt>();
        private readonly Lock _gate = new();
        private Attempt? _latest;

        /// <summary>HTTP/2's next attempt at sending the request, or null once the call has ended.</summary>
        public async Task<Attempt?> NextAttemptAsync() =>
            await _attempts.Reader.WaitToReadAsync() && _attempts.Reader.TryRead(out var attempt) ? attempt : null;

        /// <summary>The sender is done with <paramref name="attempt"/>: its request side ends.</summary>
        public void Finish(Attempt attempt)
        {
            lock (_gate)
            {
                attempt.End();
                attempt.Dispose();
                if (_latest == attempt)
                {
                    _latest = null;
                }
            }
        }

        /// <summary>The call has ended: no attempt is taken any more, and the request side of the latest ends.</summary>
        public void Fail()
        {
            lock (_gate)
            {
                _attempts.Writer.TryComplete();
                _latest?.End();
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        // HTTP/2 cancels the request side once the server has ended the call (RST_STREAM NO_ERROR
        // after its trailers). The request side must then end before HTTP/2 reads its next frame:
        // if the connection closes first (an ingress shutting down), .NET fails the stream, and
        // with it the reading of acks and trailers that had already arrived. So the cancellation
        // completes this method inline, on HTTP/2's reading thread: the promise has no
        // asynchronous continuations and is awaited without returning to any context.
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var attempt = new Attempt(stream, cancellationToken);
            lock (_gate)
            {
                // A new attempt means the last one was refused, whether or not its stream broke yet.
                _latest?.Replace();
                _latest = attempt;
                if (!_attempts.Writer.TryWrite(attempt))
                {
                    attempt.End();
                }
            }

            using (cancellationToken.UnsafeRegister(static a => ((Attempt)a!).End(), attempt))
            {
                await attempt.Ended.ConfigureAwait(false);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>One attempt at sending the request, on its own stream.</summary>
    private sealed class Attempt(Stream stream, CancellationToken cancelledByHttp) : IDisposable
    {
        // Continuations inline on purpose: see RequestBody.SerializeToStreamAsync.
        private readonly TaskCompletionSource _ended = new();
        private readonly CancellationTokenSource _replaced = new();

        public Stream Stream => stream;

        public Task Ended => _ended.Task;

        /// <summary>Fires when HTTP/2 gives up on the attempt.</summary>
        public CancellationToken CancelledByHttp => cancelledByHttp;

        /// <summary>Fires when a later attempt replaces this one.</summary>
        public CancellationToken Replaced => _replaced.Token;

        /// <summary>Ends the attempt's request side (a half-close when its stream is still open).</summary>
        public void End() => _ended.TrySetResult();

        public void Replace()
        {
            _replaced.Cancel();
            End();
        }

        public void Dispose() => _replaced.Dispose();
    }
}
