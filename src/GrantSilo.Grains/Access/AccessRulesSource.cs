namespace GrantSilo.Grains.Access;

/// <summary>One version of the access rules, compiled, as a silo holds it.</summary>
internal sealed record InstalledAccessRules(AccessRulesVersionInfo Info, AccessRules Rules)
{
    public long Version => Info.Version;

    /// <summary>Compiles a version's text; throws when it does not validate against the access schema.</summary>
    public static InstalledAccessRules Compile(AccessRulesVersion version) => new(version.Info, new AccessRules(version.Text));
}

/// <summary>
/// Where <see cref="CallerGate"/> gets the access rules it decides with: the silo's active version, confirmed with
/// the policy store within the confirmation lease (<c>PolicyEngineHost</c>).
/// </summary>
internal interface IAccessRulesSource
{
    /// <summary>The active version, confirmed within the lease; null when it cannot be confirmed (the door refuses).</summary>
    ValueTask<InstalledAccessRules?> GetConfirmedAccessRulesAsync();
}
