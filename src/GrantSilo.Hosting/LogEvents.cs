namespace GrantSilo.Hosting;

/// <summary>Event ids of the silo host's own log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    SiloStarted = 1,
    SiloStopping = 2,
    SiloReady = 3,
    SiloNotReady = 4,
}
