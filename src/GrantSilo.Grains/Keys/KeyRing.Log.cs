using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Keys;

public sealed partial class KeyRing
{
    // Names the key by its id (public) and says why: never a key, wrapped or not.
    [LoggerMessage(EventId = (int)LogEvents.SigningKeyRefused, Level = LogLevel.Warning, Message = "Key {KeyId} of key ring {Ring} is neither published nor trusted: {Reason}")]
    private static partial void LogKeyRefused(ILogger logger, string ring, string keyId, string reason);
}
