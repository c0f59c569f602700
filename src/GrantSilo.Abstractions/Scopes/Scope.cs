using System.Collections.Immutable;
using System.Text;

namespace GrantSilo;

/// <summary>
/// What a holder may do: a set of <see cref="Permission"/>s plus limits (the highest data
/// classification it may touch and how many further delegation hops it may make). Scopes are kept
/// canonical — no permission is within another, permissions sorted — so equal scopes are equal
/// values. Narrowing is set inclusion (<see cref="IsWithin"/>), and <see cref="Intersect"/> is the
/// greatest lower bound.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.scope")]
public sealed class Scope : IEquatable<Scope>
{
    /// <summary>The most permissions one scope may hold.</summary>
    public const int MaxPermissions = 256;

    /// <summary>The largest delegation depth a scope may carry.</summary>
    public const int MaxDelegationDepth = 64;

    /// <summary>The empty scope: no permissions, public data only, no delegation.</summary>
    public static readonly Scope Empty = new(ImmutableArray<Permission>.Empty, DataClassification.Public, 0);

    private Scope(ImmutableArray<Permission> permissions, DataClassification maxClassification, int delegationDepth)
    {
        Permissions = permissions;
        MaxClassification = maxClassification;
        DelegationDepth = delegationDepth;
    }

    /// <summary>The permissions, canonical: sorted, none within another.</summary>
    [Id(0)] public ImmutableArray<Permission> Permissions { get; private init; }

    /// <summary>The most sensitive data the holder may touch.</summary>
    [Id(1)] public DataClassification MaxClassification { get; private init; }

    /// <summary>How many further delegation hops the holder may make below itself (0: may not delegate).</summary>
    [Id(2)] public int DelegationDepth { get; private init; }

    /// <summary>True when the holder may delegate.</summary>
    public bool MayDelegate => DelegationDepth > 0;

    /// <summary>Builds a canonical scope from permission texts (<c>type:action:pattern</c>).</summary>
    public static GrantResult<Scope> Create(
        IEnumerable<string>? permissions,
        DataClassification maxClassification = DataClassification.Internal,
        int delegationDepth = 0)
    {
        if (permissions is null)
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, "A scope needs a list of permissions (it may be empty).");
        }
        var parsed = new List<Permission>();
        foreach (var text in permissions)
        {
            if (parsed.Count >= MaxPermissions)
            {
                return GrantResult<Scope>.Fail(GrantErrorCode.ScopeTooLarge, $"A scope may hold at most {MaxPermissions} permissions.");
            }
            var permission = Permission.Parse(text);
            if (!permission.IsSuccess)
            {
                return permission.Error;
            }
            parsed.Add(permission.Value);
        }
        return Create(parsed, maxClassification, delegationDepth);
    }

    /// <summary>Builds a canonical scope from permissions.</summary>
    public static GrantResult<Scope> Create(
        IReadOnlyCollection<Permission> permissions,
        DataClassification maxClassification,
        int delegationDepth)
    {
        if (permissions.Count > MaxPermissions)
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.ScopeTooLarge, $"A scope may hold at most {MaxPermissions} permissions; this one has {permissions.Count}.");
        }
        if (!Enum.IsDefined(maxClassification))
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, $"Unknown data classification {(int)maxClassification}.");
        }
        if (delegationDepth is < 0 or > MaxDelegationDepth)
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, $"Delegation depth must be between 0 and {MaxDelegationDepth}; it is {delegationDepth}.");
        }
        return GrantResult<Scope>.Ok(new Scope(Canonicalize(permissions), maxClassification, delegationDepth));
    }

    /// <summary>
    /// Re-validates a scope that arrived from outside (a deserialized value could have been built
    /// without the checks), returning its canonical form.
    /// </summary>
    public static GrantResult<Scope> Validate(Scope? untrusted)
    {
        if (untrusted is null || untrusted.Permissions.IsDefault)
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, "A scope is required.");
        }
        if (untrusted.Permissions.Length > MaxPermissions)
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.ScopeTooLarge, $"A scope may hold at most {MaxPermissions} permissions; this one has {untrusted.Permissions.Length}.");
        }
        var texts = new List<string>(untrusted.Permissions.Length);
        foreach (var permission in untrusted.Permissions)
        {
            if (permission?.Pattern is null)
            {
                return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, "A scope holds an empty permission.");
            }
            texts.Add($"{permission.ResourceType}:{permission.Action}:{permission.Pattern.Text}");
        }
        return Create(texts, untrusted.MaxClassification, untrusted.DelegationDepth);
    }

    /// <summary>True when everything this scope allows is allowed by <paramref name="other"/>.</summary>
    public bool IsWithin(Scope other) => FindExcess(other) is null;

    /// <summary>
    /// The first permission or limit of this scope that <paramref name="other"/> does not allow, in
    /// text form, or null when this scope is within it.
    /// </summary>
    public string? FindExcess(Scope other)
    {
        foreach (var permission in Permissions)
        {
            if (!other.Allows(permission))
            {
                return permission.ToString();
            }
        }
        if (MaxClassification > other.MaxClassification)
        {
            return $"classification<={MaxClassification}";
        }
        if (DelegationDepth > other.DelegationDepth)
        {
            return $"delegation-depth<={DelegationDepth}";
        }
        return null;
    }

    /// <summary>True when some permission of this scope contains <paramref name="permission"/>.</summary>
    public bool Allows(Permission permission)
    {
        foreach (var mine in Permissions)
        {
            if (permission.IsWithin(mine))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when the scope allows <paramref name="action"/> on the resource of type <paramref name="resourceType"/> at <paramref name="path"/>.</summary>
    public bool Covers(string resourceType, string action, string path)
    {
        foreach (var permission in Permissions)
        {
            if (permission.Covers(resourceType, action, path))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The greatest scope within both this scope and <paramref name="other"/>.</summary>
    public Scope Intersect(Scope other)
    {
        var meets = new List<Permission>();
        foreach (var a in Permissions)
        {
            foreach (var b in other.Permissions)
            {
                if (a.Intersect(b) is { } meet)
                {
                    meets.Add(meet);
                }
            }
        }
        return new Scope(
            Canonicalize(meets),
            (DataClassification)Math.Min((int)MaxClassification, (int)other.MaxClassification),
            Math.Min(DelegationDepth, other.DelegationDepth));
    }

    /// <summary>This scope with a different delegation depth.</summary>
    public Scope WithDelegationDepth(int depth) =>
        new(Permissions, MaxClassification, Math.Clamp(depth, 0, MaxDelegationDepth));

    // Sorted, duplicates removed, and no permission kept that another contains: the unique
    // representative of the set of requests the scope allows.
    private static ImmutableArray<Permission> Canonicalize(IEnumerable<Permission> permissions)
    {
        var distinct = permissions.Distinct().ToList();
        var kept = new List<Permission>(distinct.Count);
        for (var i = 0; i < distinct.Count; i++)
        {
            var redundant = false;
            for (var j = 0; j < distinct.Count && !redundant; j++)
            {
                redundant = i != j && distinct[i].IsWithin(distinct[j]);
            }
            if (!redundant)
            {
                kept.Add(distinct[i]);
            }
        }
        kept.Sort(Permission.Compare);
        return [.. kept];
    }

    /// <inheritdoc />
    public bool Equals(Scope? other) =>
        other is not null
        && MaxClassification == other.MaxClassification
        && DelegationDepth == other.DelegationDepth
        && Permissions.AsSpan().SequenceEqual(other.Permissions.AsSpan());

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Scope);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(MaxClassification);
        hash.Add(DelegationDepth);
        foreach (var permission in Permissions)
        {
            hash.Add(permission);
        }
        return hash.ToHashCode();
    }

    /// <summary>Canonical text: permissions separated by spaces, then the limits.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var permission in Permissions)
        {
            text.Append(permission).Append(' ');
        }
        return text.Append($"[classification<={MaxClassification}, delegation-depth={DelegationDepth}]").ToString();
    }
}
