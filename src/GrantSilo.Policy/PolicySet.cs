using System.Globalization;
using GrantSilo.Policy.Parsing;

namespace GrantSilo.Policy;

/// <summary>How policy ids are assigned when parsing a policy set.</summary>
public enum PolicyIdSource
{
    /// <summary><c>policy0</c>, <c>policy1</c>, ... in source order (Cedar's default).</summary>
    Positional,
    /// <summary>The <c>@id("...")</c> annotation when present, otherwise positional. Duplicate ids are a parse error.</summary>
    IdAnnotation,
}

/// <summary>
/// A parsed and compiled set of Cedar policies. Parse once (for example per policy version) and reuse it:
/// it is immutable and safe to use from many threads.
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, Policy> _byId;

    private PolicySet(List<Policy> policies)
    {
        Policies = policies;
        _byId = new Dictionary<string, Policy>(StringComparer.Ordinal);
        foreach (var p in policies)
        {
            _byId[p.Id] = p;
        }
    }

    /// <summary>The policies in source order.</summary>
    public IReadOnlyList<Policy> Policies { get; }

    /// <summary>Parses and compiles Cedar policy text.</summary>
    /// <param name="text">Zero or more Cedar policies.</param>
    /// <param name="idSource">How policy ids are assigned.</param>
    /// <exception cref="CedarParseException">The text is not valid Cedar; the exception carries an error code and position.</exception>
    public static PolicySet Parse(string text, PolicyIdSource idSource = PolicyIdSource.Positional)
    {
        ArgumentNullException.ThrowIfNull(text);
        var policies = Parser.ParsePolicies(text);
        if (idSource == PolicyIdSource.IdAnnotation)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Count; i++)
            {
                var p = policies[i];
                p.Id = p.IdAnnotation ?? "policy" + i.ToString(CultureInfo.InvariantCulture);
                if (!seen.Add(p.Id))
                {
                    throw new CedarParseException(CedarParseErrorCode.DuplicatePolicyId, p.Position, $"duplicate policy id `{p.Id}`");
                }
            }
        }

        return new PolicySet(policies);
    }

    /// <summary>Parses Cedar policy text without throwing.</summary>
    /// <returns>True on success; otherwise <paramref name="error"/> says what and where.</returns>
    public static bool TryParse(string text, out PolicySet? policySet, out CedarParseException? error, PolicyIdSource idSource = PolicyIdSource.Positional)
    {
        try
        {
            policySet = Parse(text, idSource);
            error = null;
            return true;
        }
        catch (CedarParseException e)
        {
            policySet = null;
            error = e;
            return false;
        }
    }

    /// <summary>Finds a policy by id.</summary>
    public bool TryGetPolicy(string id, out Policy policy) => _byId.TryGetValue(id, out policy!);
}
