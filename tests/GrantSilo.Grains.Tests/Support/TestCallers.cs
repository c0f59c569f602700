using GrantSilo.Identity;

namespace GrantSilo.Grains.Tests;

/// <summary>Verified callers made directly, for tests that evaluate the access rules without a token.</summary>
internal static class TestCallers
{
    /// <summary>A caller of <paramref name="kind"/> named <paramref name="name"/> with <paramref name="roles"/>, from issuer <c>test</c>, never expiring.</summary>
    public static Caller Of(CallerKind kind, string name, params string[] roles) => new()
    {
        Issuer = "test",
        Subject = name,
        Kind = kind,
        Name = name,
        Roles = roles.ToHashSet(),
        ExpiresAt = DateTimeOffset.MaxValue,
    };
}
