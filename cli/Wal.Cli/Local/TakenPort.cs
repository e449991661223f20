using System.Net;
using System.Net.Sockets;

namespace Wal.Cli.Local;

/// <summary>A loopback port <c>wal up</c> needs that something on this machine already holds.</summary>
/// <param name="Role">What <c>wal up</c> would run on it, and the option that moves it.</param>
/// <param name="Port">The port, on 127.0.0.1.</param>
internal sealed record TakenPort(string Role, int Port)
{
    /// <summary>
    /// The first of <paramref name="ports"/> already taken on 127.0.0.1, or null. Checked before anything starts, so a
    /// run that cannot bind one says which and why at once, rather than failing part-way through its start-up with a
    /// stack trace (a memcached left from an earlier run, or another <c>wal up</c>, is the usual holder).
    /// </summary>
    public static TakenPort? FirstOf(IEnumerable<(string Role, int Port)> ports)
    {
        // Port 0 asks for a free port, and a negative one turns the listener off: nothing to hold.
        foreach (var (role, port) in ports.Where(p => p.Port > 0))
        {
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return new TakenPort(role, port);
            }
        }

        return null;
    }
}
