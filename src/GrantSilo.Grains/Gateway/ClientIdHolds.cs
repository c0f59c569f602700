using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections;
using Orleans.Connections.Security;

namespace GrantSilo.Grains.Gateway;

/// <summary>
/// Which gateway connection holds each client id. Orleans' gateway sends a client's answers to the newest connection
/// whose preamble named that client, so a second connection naming a connected client's id would take every answer
/// meant for it (credentials among them) from then on. A client id is therefore held by one connection at a time: a
/// second connection that names a held id waits a moment for the holder to close (a client reconnecting after its old
/// connection failed, which the silo may not have noticed yet), and is refused if it does not. A connection that presents
/// the same client certificate as the holder takes the id over at once, and the holder is closed: that is the same
/// client, and the old connection may be one the silo cannot see is dead.
/// </summary>
internal sealed class ClientIdHolds(TimeProvider clock)
{
    /// <summary>How long a connection naming a held client id waits for its holder to close before it is refused.</summary>
    internal static readonly TimeSpan HandoverWait = TimeSpan.FromSeconds(2);

    private readonly Dictionary<GrainId, Hold> _holds = new();
    private int _waiting;

    /// <summary>The number of connections waiting for a holder to close (for tests).</summary>
    internal int Waiting => Volatile.Read(ref _waiting);

    /// <summary>The number of client ids held (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_holds)
            {
                return _holds.Count;
            }
        }
    }

    /// <summary>
    /// Holds <paramref name="client"/> for <paramref name="connection"/>: at once when nobody holds it or the holder
    /// presented the same client certificate (the holder is then closed), after the holder closes if it does within
    /// <see cref="HandoverWait"/>; otherwise null. Dispose the result when the connection ends.
    /// </summary>
    public async ValueTask<Hold?> TryHoldAsync(ClientFrameRules.ClientId client, ConnectionContext connection)
    {
        var certificate = CertificateHash(connection);
        var deadline = clock.GetUtcNow() + HandoverWait;
        while (true)
        {
            Hold? holder;
            Hold? taken = null;
            lock (_holds)
            {
                if (!_holds.TryGetValue(client.Id, out holder) || (certificate is not null && holder.Certificate is not null && certificate.AsSpan().SequenceEqual(holder.Certificate)))
                {
                    var hold = new Hold(this, client.Id, connection, certificate);
                    _holds[client.Id] = hold;
                    taken = holder;
                    holder = hold;
                }
            }
            if (holder.Connection == connection)
            {
                if (taken is not null)
                {
                    taken.Released.TrySetResult();
                    taken.Connection.Abort(new ConnectionAbortedException("GrantSilo: the same client connected again; this connection was replaced."));
                }
                return holder;
            }
            var left = deadline - clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return null;
            }
            using var timeout = new CancellationTokenSource(left, clock);
            using var closed = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, connection.ConnectionClosed);
            Interlocked.Increment(ref _waiting);
            try
            {
                await holder.Released.Task.WaitAsync(closed.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (connection.ConnectionClosed.IsCancellationRequested)
                {
                    return null;
                }
                // The deadline passed; the loop looks once more, so a holder that closed at the last moment still counts.
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }

    private void Release(Hold hold)
    {
        lock (_holds)
        {
            if (_holds.TryGetValue(hold.Client, out var current) && current == hold)
            {
                _holds.Remove(hold.Client);
            }
        }
        hold.Released.TrySetResult();
    }

    /// <summary>Whether a connection holds <paramref name="client"/> (for tests).</summary>
    internal bool IsHeld(GrainId client)
    {
        lock (_holds)
        {
            return _holds.ContainsKey(client);
        }
    }

    // The SHA-256 of the client certificate the connection's TLS handshake verified, if it presented one.
    private static byte[]? CertificateHash(ConnectionContext connection) =>
        connection.Features.Get<ITlsConnectionFeature>()?.RemoteCertificate is { } certificate ? SHA256.HashData(certificate.RawData) : null;

    /// <summary>A connection's hold on a client id, released when disposed.</summary>
    internal sealed class Hold(ClientIdHolds holds, GrainId client, ConnectionContext connection, byte[]? certificate) : IDisposable
    {
        public GrainId Client { get; } = client;

        public ConnectionContext Connection { get; } = connection;

        public byte[]? Certificate { get; } = certificate;

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => holds.Release(this);
    }
}
