using System.Net;
using System.Net.Sockets;

namespace Wal.Sinks.Memcached.Local;

/// <summary>Free TCP ports on 127.0.0.1 for the local stand-ins and the servers tests start.</summary>
public static class LoopbackPort
{
    /// <summary>
    /// A port no one listens on right now. The OS picks it and the listener is closed again, so
    /// another process could take it before the caller binds it; on a test machine that race is rare.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
