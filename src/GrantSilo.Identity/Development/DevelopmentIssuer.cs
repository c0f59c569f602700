using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity;

/// <summary>
/// The development issuer: an ES256 key made in memory at start, whose private JWK is written to
/// <see cref="DevelopmentIssuerOptions.KeyFile"/> (mode 0600) so local tools can mint tokens with
/// <see cref="DevelopmentTokens"/>. It vouches for agents in ANY trust domain and for any person or service
/// with any roles, so it is refused outside the Development environment unless
/// <see cref="DevelopmentIssuerOptions.AllowOutsideDevelopment"/> is set. Never use it in production.
/// </summary>
public sealed partial class DevelopmentIssuer : IDisposable
{
    /// <summary>The issuer's <see cref="Caller.Issuer"/> name.</summary>
    public const string IssuerName = "development";

    /// <summary>Its only algorithm.</summary>
    public const string Algorithm = "ES256";

    internal const string IssuerMember = "grantsilo_issuer";
    internal const string AudienceMember = "grantsilo_audience";

    private readonly ECDsa _key;

    /// <summary>
    /// Makes the key and writes the key file. Call <see cref="EnsureAllowed(string, DevelopmentIssuerOptions)"/> first (DI does).
    /// On Unix, throws <see cref="KeyFileRefusedException"/> when the key file's directory is a symbolic link, belongs to
    /// another user or is writable by group or others.
    /// </summary>
    public DevelopmentIssuer(DevelopmentIssuerOptions options, string audience, ILogger<DevelopmentIssuer> logger)
        : this(options, audience, logger, KeyFileGuard.ForThisProcess)
    {
    }

    /// <summary>As the public constructor, with the key-file guard given (tests give any owner and mode).</summary>
    internal DevelopmentIssuer(DevelopmentIssuerOptions options, string audience, ILogger<DevelopmentIssuer> logger, KeyFileGuard? guard)
    {
        Issuer = options.Issuer;
        Audience = audience;
        KeyFile = Path.GetFullPath(options.KeyFile ?? DevelopmentIssuerOptions.DefaultKeyFile);
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = _key.ExportParameters(includePrivateParameters: false);
        KeyId = "dev-" + Convert.ToHexStringLower(SHA256.HashData([.. parameters.Q.X!, .. parameters.Q.Y!])[..8]);
        try
        {
            WriteKeyFile(guard);
        }
        catch
        {
            _key.Dispose();
            throw;
        }
        LogActive(logger, Issuer, KeyFile);
    }

    /// <summary>The <c>iss</c> of its tokens.</summary>
    public string Issuer { get; }

    /// <summary>The <c>aud</c> its tokens carry.</summary>
    public string Audience { get; }

    /// <summary>The key's <c>kid</c>.</summary>
    public string KeyId { get; }

    /// <summary>Where the private JWK was written.</summary>
    public string KeyFile { get; }

    /// <summary>Throws unless the environment is Development or <see cref="DevelopmentIssuerOptions.AllowOutsideDevelopment"/> is set.</summary>
    public static void EnsureAllowed(IHostEnvironment environment, DevelopmentIssuerOptions options)
        => EnsureAllowed(environment.EnvironmentName, options);

    /// <summary>Throws unless <paramref name="environmentName"/> is Development or <see cref="DevelopmentIssuerOptions.AllowOutsideDevelopment"/> is set.</summary>
    public static void EnsureAllowed(string? environmentName, DevelopmentIssuerOptions options)
    {
        if (!options.Enabled || options.AllowOutsideDevelopment || string.Equals(environmentName, Environments.Development, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        // A setting the host cannot start with: an options failure, so a host turns it into a refusal to start (silo-host:
        // exit code 78 with this sentence), not a crash.
        throw new OptionsValidationException($"{IdentityOptions.SectionName}:Development", typeof(DevelopmentIssuerOptions), [
            $"The GrantSilo DEVELOPMENT issuer is enabled ({IdentityOptions.SectionName}:Development:Enabled=true) but the host environment is "
            + $"'{environmentName ?? "(unknown)"}', not Development. It vouches for any agent, person or service and must never run in production: "
            + $"set {IdentityOptions.SectionName}:Development:Enabled=false and configure real issuers, or (for a demo only) "
            + $"{IdentityOptions.SectionName}:Development:AllowOutsideDevelopment=true."]);
    }

    /// <summary>A token minter with this issuer's key, in this process.</summary>
    public DevelopmentTokens CreateTokens(TimeProvider? timeProvider = null)
    {
        var copy = ECDsa.Create(_key.ExportParameters(includePrivateParameters: true));
        return new DevelopmentTokens(copy, KeyId, Issuer, Audience, timeProvider);
    }

    /// <summary>The public key as a JWKS document.</summary>
    internal byte[] PublicJwks()
    {
        var p = _key.ExportParameters(includePrivateParameters: false);
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "EC", ["crv"] = "P-256", ["use"] = "sig", ["alg"] = Algorithm, ["kid"] = KeyId,
                    ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y),
                },
            },
        });
    }

    private void WriteKeyFile(KeyFileGuard? guard)
    {
        var p = _key.ExportParameters(includePrivateParameters: true);
        var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["kty"] = "EC", ["crv"] = "P-256", ["use"] = "sig", ["alg"] = Algorithm, ["kid"] = KeyId,
            ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y), ["d"] = Base64Url.EncodeToString(p.D),
            [IssuerMember] = Issuer, [AudienceMember] = Audience,
        });
        var directory = Path.GetDirectoryName(KeyFile)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(KeyFile, json);
            return;
        }

        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        // A directory that already exists keeps its owner and mode: one another user made (the default is under the shared
        // temporary directory) or opened to others could have the key swapped after it is written, so it is refused.
        Directory.CreateDirectory(directory, owner | UnixFileMode.UserExecute);
        guard?.EnsureDirectory(directory, new KeyFileUse(
            "the development issuer's private key",
            $"set {IdentityOptions.SectionName}:Development:KeyFile to a file in a directory only this user can write",
            $"{IdentityOptions.SectionName}:Development",
            typeof(DevelopmentIssuerOptions)));

        // Written beside and renamed over, created 0600 from the start so the key is never readable by others.
        var temporary = $"{KeyFile}.{Guid.NewGuid():N}.tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = owner }))
        {
            stream.Write(json);
        }

        File.Move(temporary, KeyFile, overwrite: true);
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    [LoggerMessage(EventId = (int)IdentityEventId.DevelopmentIssuerActive, Level = LogLevel.Warning,
        Message = "A DEVELOPMENT issuer is active ('{Issuer}'): it vouches for any agent in any trust domain and any person or service with any roles. Never use it in production. Its private key is in {KeyFile} (mode 0600) for local tools.")]
    private static partial void LogActive(ILogger logger, string issuer, string keyFile);
}
