namespace GrantSilo.Tls;

/// <summary>Event ids of GrantSilo's TLS log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    TlsInUse = 1,
    PeerRefused = 2,
}
