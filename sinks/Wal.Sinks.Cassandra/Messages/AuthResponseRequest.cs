using System.Text;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>AUTH_RESPONSE (spec 4.1.2): one SASL token as [bytes].</summary>
public sealed record AuthResponseRequest(ReadOnlyMemory<byte> Token) : CqlRequest
{
    public override CqlOpcode Opcode => CqlOpcode.AuthResponse;

    /// <summary>
    /// The SASL PLAIN token that PasswordAuthenticator expects: an empty authorization id, then
    /// the user name and the password, each preceded by a zero byte.
    /// </summary>
    public static AuthResponseRequest Plain(string username, string password)
    {
        var user = Encoding.UTF8.GetBytes(username);
        var pass = Encoding.UTF8.GetBytes(password);
        var token = new byte[2 + user.Length + pass.Length];
        user.CopyTo(token, 1);
        pass.CopyTo(token, 2 + user.Length);
        return new AuthResponseRequest(token);
    }

    public override void WriteBody(CqlWriter writer) => writer.WriteBytes(Token.Span);
}
