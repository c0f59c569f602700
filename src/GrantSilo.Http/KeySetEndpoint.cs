using GrantSilo.Grains.Keys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Http;

/// <summary>
/// <c>/.well-known/jwks.json</c>: the public keys of GrantSilo's credential signing ring (RFC 7517), for verifiers. It
/// needs no caller: public keys are public. The next key is published a rotation period before it signs, and a retired
/// key until nothing it signed can still be valid.
/// </summary>
internal static partial class KeySetEndpoint
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/.well-known/jwks.json", async (HttpContext http, [FromServices] KeyRing keys, [FromServices] ILogger<KeyRing> logger) =>
            {
                try
                {
                    var published = await keys.GetPublishedAsync(KeyRing.Credentials, http.RequestAborted).ConfigureAwait(false);
                    http.Response.Headers.CacheControl = "public, max-age=300";
                    return TypedResults.Json(new JsonWebKeySet { Keys = published }, HttpJson.Options, "application/jwk-set+json");
                }
                catch (KeyEncryptionException unavailable)
                {
                    LogKeysUnavailable(logger, unavailable.Message);
                    return Problems.Of(StatusCodes.Status503ServiceUnavailable, Problems.TypePrefix + "keys-unavailable", "Signing keys unavailable",
                        "GrantSilo's signing keys cannot be used on this silo; its operator is told why in the silo's log.");
                }
            })
            .WithTags("Keys").WithName("KeySet").WithSummary("The public keys that verify GrantSilo's signatures (JWKS).")
            .Produces<JsonWebKeySet>(StatusCodes.Status200OK, "application/jwk-set+json").ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    [LoggerMessage(EventId = (int)LogEvents.KeysUnavailable, Level = LogLevel.Error, Message = "The key set could not be published: {Reason}")]
    private static partial void LogKeysUnavailable(ILogger logger, string reason);
}

/// <summary>A JSON Web Key Set.</summary>
public sealed record JsonWebKeySet
{
    public required IReadOnlyList<PublishedKey> Keys { get; init; }
}
