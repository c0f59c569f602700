using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Tokens;

/// <summary>
/// What a GrantSilo credential says, as the claims of an RFC 9068 JWT access token. The delegation chain travels as
/// nested RFC 8693 <c>act</c> claims, from the agent's delegator up to the orchestrator that started the work.
/// </summary>
public sealed record CredentialClaims
{
    /// <summary><c>iss</c>: this GrantSilo deployment.</summary>
    public required string Issuer { get; init; }

    /// <summary><c>sub</c>: the agent's SPIFFE ID.</summary>
    public required string Subject { get; init; }

    /// <summary><c>aud</c>: the one resource the credential is for (an RFC 8707 resource indicator).</summary>
    public required string Audience { get; init; }

    /// <summary><c>jti</c>: the credential's id.</summary>
    public required string CredentialId { get; init; }

    /// <summary><c>client_id</c>: the client that asked for the credential.</summary>
    public required string ClientId { get; init; }

    /// <summary><c>scope</c>: the permissions (<see cref="CredentialJwt.EncodeScope"/>).</summary>
    public required IReadOnlyList<string> Permissions { get; init; }

    public required DateTimeOffset IssuedAt { get; init; }

    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The task the credential is bound to.</summary>
    public required string TaskId { get; init; }

    /// <summary>The person the work is for.</summary>
    public required string RootPerson { get; init; }

    /// <summary>The highest data classification the holder may touch.</summary>
    public required string MaxClassification { get; init; }

    /// <summary>
    /// Who acts through the agent, nearest first: the planner that delegated to it, that planner's delegator, and so on,
    /// ending with the orchestrator (for a root task's agent, the orchestrator alone).
    /// </summary>
    public IReadOnlyList<string> Actors { get; init; } = [];

    /// <summary><c>cnf.jkt</c>: the RFC 7638 thumbprint of the key the credential is bound to (DPoP), if any.</summary>
    public string? ConfirmationThumbprint { get; init; }

    /// <summary><c>may_act.sub</c>: the one actor the holder may hand this credential to by token exchange (RFC 8693 §4.4), if any.</summary>
    public string? MayAct { get; init; }
}

/// <summary>Why a credential JWT was refused (never with the token in it).</summary>
public sealed record CredentialJwtRefusal(string Reason);

/// <summary>
/// GrantSilo credentials as RFC 9068 JWT access tokens (<c>typ: at+jwt</c>), signed ES256. <see cref="Create"/> writes
/// one; <see cref="ValidateAsync"/> checks one exactly as a resource server with Microsoft.IdentityModel would, offline,
/// from the published keys: the algorithm, type, issuer, audience, signature and times, nothing taken from the token
/// on trust.
/// </summary>
public static class CredentialJwt
{
    /// <summary>The <c>typ</c> of a credential token (RFC 9068).</summary>
    public const string Type = "at+jwt";

    /// <summary>GrantSilo's own claim: <c>{"task_id","root_person","max_classification"}</c>.</summary>
    public const string GrantSiloClaim = "grantsilo";

    /// <summary>Writes and signs a credential token with <paramref name="key"/> (P-256), naming it <paramref name="keyId"/>.</summary>
    public static string Create(CredentialClaims claims, ECDsa key, string keyId)
    {
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(key);
        var header = Json(writer =>
        {
            writer.WriteString("alg", "ES256");
            writer.WriteString("typ", Type);
            writer.WriteString("kid", keyId);
        });
        var payload = Json(writer =>
        {
            writer.WriteString("iss", claims.Issuer);
            writer.WriteString("sub", claims.Subject);
            writer.WriteString("aud", claims.Audience);
            writer.WriteNumber("exp", claims.ExpiresAt.ToUnixTimeSeconds());
            writer.WriteNumber("iat", claims.IssuedAt.ToUnixTimeSeconds());
            writer.WriteNumber("nbf", claims.NotBefore.ToUnixTimeSeconds());
            writer.WriteString("jti", claims.CredentialId);
            writer.WriteString("client_id", claims.ClientId);
            writer.WriteString("scope", EncodeScope(claims.Permissions));
            writer.WriteStartObject(GrantSiloClaim);
            writer.WriteString("task_id", claims.TaskId);
            writer.WriteString("root_person", claims.RootPerson);
            writer.WriteString("max_classification", claims.MaxClassification);
            writer.WriteEndObject();
            if (claims.Actors.Count > 0)
            {
                // act: {"sub": nearest, "act": {"sub": next, ...}} (RFC 8693 §4.1): the outermost is the current actor.
                foreach (var actor in claims.Actors)
                {
                    writer.WriteStartObject("act");
                    writer.WriteString("sub", actor);
                }
                for (var i = 0; i < claims.Actors.Count; i++)
                {
                    writer.WriteEndObject();
                }
            }
            if (claims.ConfirmationThumbprint is { } jkt)
            {
                writer.WriteStartObject("cnf");
                writer.WriteString("jkt", jkt);
                writer.WriteEndObject();
            }
            if (claims.MayAct is { } mayAct)
            {
                writer.WriteStartObject("may_act");
                writer.WriteString("sub", mayAct);
                writer.WriteEndObject();
            }
        });
        var signingInput = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(payload);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary>
    /// Validates a credential token offline: ES256 only, <c>typ</c> <see cref="Type"/>, the issuer and audience given,
    /// signed by one of <paramref name="keys"/> (by <c>kid</c>), and within its times at <paramref name="now"/> (no
    /// skew). The claims, or why it was refused.
    /// </summary>
    public static async Task<(CredentialClaims? Claims, CredentialJwtRefusal? Refusal)> ValidateAsync(
        string token, string issuer, string audience, IEnumerable<SecurityKey> keys, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(token);
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = audience,
            IssuerSigningKeys = keys,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = [Type],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            TryAllIssuerSigningKeys = false,
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = (notBefore, expires, _, _) =>
                expires is { } exp && now.UtcDateTime < exp && (notBefore is not { } nbf || now.UtcDateTime >= nbf),
        };
        var handler = new JsonWebTokenHandler { MapInboundClaims = false };
        // The algorithm is checked first, from the header alone: nothing else of a token that names another is looked at.
        if (!handler.CanReadToken(token))
        {
            return (null, new CredentialJwtRefusal("it is not a well-formed JWT"));
        }
        string algorithm;
        try
        {
            algorithm = handler.ReadJsonWebToken(token).Alg;
        }
        catch (ArgumentException)
        {
            return (null, new CredentialJwtRefusal("it is not a well-formed JWT"));
        }
        if (algorithm != SecurityAlgorithms.EcdsaSha256)
        {
            return (null, new CredentialJwtRefusal("its algorithm is not ES256"));
        }
        var result = await handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return (null, new CredentialJwtRefusal(Describe(result.Exception)));
        }
        try
        {
            return (Read(jwt), null);
        }
        catch (Exception malformed) when (malformed is ArgumentException or FormatException or InvalidOperationException or JsonException)
        {
            return (null, new CredentialJwtRefusal("The token's GrantSilo claims are malformed."));
        }
    }

    /// <summary>
    /// The <c>scope</c> value: permissions separated by spaces, each written as an RFC 6749 scope token (a space,
    /// <c>"</c>, <c>\</c> or <c>%</c> in a permission, or any character outside printable ASCII, is percent-encoded as UTF-8).
    /// </summary>
    public static string EncodeScope(IEnumerable<string> permissions)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        var scope = new StringBuilder();
        foreach (var permission in permissions)
        {
            if (scope.Length > 0)
            {
                scope.Append(' ');
            }
            foreach (var b in Encoding.UTF8.GetBytes(permission))
            {
                if (b is >= 0x21 and <= 0x7E && b is not ((byte)'"' or (byte)'\\' or (byte)'%'))
                {
                    scope.Append((char)b);
                }
                else
                {
                    scope.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
        return scope.ToString();
    }

    /// <summary>The permissions of a <c>scope</c> value written by <see cref="EncodeScope"/>.</summary>
    public static IReadOnlyList<string> DecodeScope(string scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(token => Uri.UnescapeDataString(token))];
    }

    /// <summary>
    /// The claims of a token whose signature, issuer and times have already been verified (by
    /// <see cref="ValidateAsync"/> or GrantSilo's own verifier). Never call it on a token that was not: it checks nothing.
    /// </summary>
    public static CredentialClaims? ReadVerified(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        try
        {
            return Read(new JsonWebToken(token));
        }
        catch (Exception malformed) when (malformed is ArgumentException or FormatException or InvalidOperationException or JsonException or KeyNotFoundException or SecurityTokenException)
        {
            return null;
        }
    }

    private static CredentialClaims Read(JsonWebToken jwt)
    {
        var grantsilo = jwt.GetPayloadValue<JsonElement>(GrantSiloClaim);
        var actors = new List<string>();
        if (jwt.TryGetPayloadValue<JsonElement>("act", out var act))
        {
            while (act.ValueKind == JsonValueKind.Object)
            {
                actors.Add(act.GetProperty("sub").GetString() ?? throw new FormatException("act.sub"));
                act = act.TryGetProperty("act", out var outer) ? outer : default;
            }
        }
        string? jkt = jwt.TryGetPayloadValue<JsonElement>("cnf", out var cnf) && cnf.ValueKind == JsonValueKind.Object && cnf.TryGetProperty("jkt", out var thumbprint)
            ? thumbprint.GetString()
            : null;
        string? mayAct = jwt.TryGetPayloadValue<JsonElement>("may_act", out var may) && may.ValueKind == JsonValueKind.Object && may.TryGetProperty("sub", out var maySub)
            ? maySub.GetString()
            : null;
        return new CredentialClaims
        {
            Issuer = jwt.Issuer,
            Subject = jwt.Subject,
            Audience = jwt.Audiences.Single(),
            CredentialId = jwt.Id,
            ClientId = jwt.GetPayloadValue<string>("client_id"),
            Permissions = DecodeScope(jwt.GetPayloadValue<string>("scope")),
            IssuedAt = jwt.IssuedAt,
            NotBefore = jwt.ValidFrom,
            ExpiresAt = jwt.ValidTo,
            TaskId = grantsilo.GetProperty("task_id").GetString()!,
            RootPerson = grantsilo.GetProperty("root_person").GetString()!,
            MaxClassification = grantsilo.GetProperty("max_classification").GetString()!,
            Actors = actors,
            ConfirmationThumbprint = jkt,
            MayAct = mayAct,
        };
    }

    // Why, in words a log can hold: the library's messages may quote the token, so they are never passed on.
    private static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenInvalidAlgorithmException => "its algorithm is not ES256",
        SecurityTokenInvalidTypeException => $"its type is not {Type}",
        SecurityTokenInvalidIssuerException => "another issuer signed it",
        SecurityTokenInvalidAudienceException => "it is for another audience",
        SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenInvalidLifetimeException => "it is not valid now (expired, or not yet valid)",
        SecurityTokenSignatureKeyNotFoundException => "no published key has its key id",
        SecurityTokenInvalidSignatureException => "its signature does not verify",
        SecurityTokenMalformedException => "it is not a well-formed JWT",
        null => "it was refused",
        _ => "it was refused (" + failure.GetType().Name + ")",
    };

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        // Written as JSON without HTML escaping: "at+jwt", not "at\u002Bjwt".
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
