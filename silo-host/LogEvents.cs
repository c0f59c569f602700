namespace GrantSilo.SiloHost;

/// <summary>Event ids of the silo host's log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    SiloStarted = 1,
    SiloStopping = 2,
    LeaseStarted = 2100,
    LeaseRenewFailed = 2101,
    LeaseDeclaredDead = 2102,
    LeaseNotConfirmed = 2103,
}
