using GrantSilo.Identity;

namespace GrantSilo.Client;

/// <summary>
/// Callers for local development, vouched for by the DEVELOPMENT issuer of a silo on this machine (its key
/// file, written at the silo's start). Never for production: a silo refuses the development issuer outside
/// the Development environment unless told otherwise.
/// </summary>
public sealed class DevelopmentCallers : IDisposable
{
    private readonly DevelopmentTokens _tokens;

    private DevelopmentCallers(DevelopmentTokens tokens) => _tokens = tokens;

    /// <summary>Reads the development issuer's key file (the silo's default location when null).</summary>
    public static DevelopmentCallers Load(string? keyFile = null, TimeProvider? time = null) => new(DevelopmentTokens.Load(keyFile, time));

    /// <summary>An agent, with JWT-SVIDs for its SPIFFE ID.</summary>
    public ICallerTokenSource Agent(string spiffeId) => Source(() => _tokens.ForAgent(spiffeId), _tokens.DefaultAgentLifetime);

    /// <summary>A person (<c>person:&lt;name&gt;</c>) with the given roles, for example <c>approver</c>.</summary>
    public ICallerTokenSource Person(string name, params string[] roles) => Source(() => _tokens.ForPerson(name, roles), _tokens.DefaultLifetime);

    /// <summary>A service (<c>service:&lt;name&gt;</c>) with the given roles, for example <c>orchestrator</c> or <c>gateway</c>.</summary>
    public ICallerTokenSource Service(string name, params string[] roles) => Source(() => _tokens.ForService(name, roles), _tokens.DefaultLifetime);

    /// <inheritdoc />
    public void Dispose() => _tokens.Dispose();

    private static RefreshingCallerToken Source(Func<string> mint, TimeSpan lifetime) =>
        new(_ => ValueTask.FromResult((mint(), DateTimeOffset.UtcNow + lifetime)));
}
