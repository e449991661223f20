using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Wal.Grpc.Rpc;

namespace Wal.Grpc.Tests;

/// <summary>
/// A raw gRPC client on HttpClient over h2c (HTTP/2 with prior knowledge): it builds frames by
/// hand so tests can send what a well-behaved client never would.
/// </summary>
public sealed class GrpcTestClient : IDisposable
{
    private readonly HttpClient _http;

    public GrpcTestClient(Uri address, Version? version = null, SocketsHttpHandler? handler = null)
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler())
        {
            BaseAddress = address,
            DefaultRequestVersion = version ?? HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flags = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public Task<GrpcResponse> CallAsync(string path, IMessage message, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(path, Frame(message), configure);

    public Task<GrpcResponse> SendAsync(string path, byte[] body, Action<HttpRequestMessage>? configure = null, string contentType = "application/grpc") =>
        SendAsync(path, new ByteArrayContent(body), configure, contentType);

    /// <summary>Sends <paramref name="body"/> (which may keep the request open, see <see cref="DuplexContent"/>) and reads the whole response.</summary>
    public async Task<GrpcResponse> SendAsync(string path, HttpContent body, Action<HttpRequestMessage>? configure = null, string contentType = "application/grpc")
    {
        // The path as given, escapes and all: a Uri left to canonicalize would decode "%61" to "a" before sending.
        var target = new Uri(_http.BaseAddress!.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Content = body,
            Version = _http.DefaultRequestVersion,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (contentType.Length > 0)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        request.Headers.TryAddWithoutValidation("te", "trailers");
        configure?.Invoke(request);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var messages = Unframe(bytes);
        var inHeaders = response.Headers.TryGetValues("grpc-status", out var headerStatus);
        var source = inHeaders ? response.Headers : response.TrailingHeaders;
        StatusCode? status = inHeaders ? (StatusCode)int.Parse(headerStatus!.Single()) :
            source.TryGetValues("grpc-status", out var trailerStatus) ? (StatusCode)int.Parse(trailerStatus.Single()) : null;
        var message = source.TryGetValues("grpc-message", out var text) ? GrpcMessageText.Decode(text.Single()) : null;
        var details = source.TryGetValues("grpc-status-details-bin", out var bin) ? Status.Parser.ParseFrom(FromBase64(bin.Single())) : null;
        return new GrpcResponse(response.StatusCode, response.Headers, response.Content.Headers.ContentType?.MediaType, messages, status, message, details, inHeaders, source);
    }

    public void Dispose() => _http.Dispose();

    private static byte[] FromBase64(string value) =>
        Convert.FromBase64String(value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '='));

    private static List<byte[]> Unframe(byte[] bytes)
    {
        var messages = new List<byte[]>();
        var offset = 0;
        while (offset + 5 <= bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 1));
            Assert.True(offset + 5 + length <= bytes.Length, $"Bad frame in body: {System.Text.Encoding.UTF8.GetString(bytes)}");
            messages.Add(bytes.AsSpan(offset + 5, length).ToArray());
            offset += 5 + length;
        }

        Assert.Equal(bytes.Length, offset);
        return messages;
    }
}
