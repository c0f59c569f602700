namespace GrantSilo.Client;

/// <summary>Event ids of the client SDK's log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    CallFailed = 3000,
    AuthorizeFailed = 3001,
    CallerTokenFailed = 3002,
}
