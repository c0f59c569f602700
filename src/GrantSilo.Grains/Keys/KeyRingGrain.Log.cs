using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Keys;

internal sealed partial class KeyRingGrain
{
    // Names the key by its id (public) and says why: never a key, wrapped or not, nor a seal.
    [LoggerMessage(EventId = (int)LogEvents.KeyRingKeyNotAuthentic, Level = LogLevel.Warning, Message = "Key {KeyId} of key ring {Ring} failed authentication as read from storage and is dropped from the ring (never published or used again): {Reason}")]
    private static partial void LogKeyNotAuthentic(ILogger logger, string ring, string keyId, string reason);
}
