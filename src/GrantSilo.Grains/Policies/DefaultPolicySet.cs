using System.Security.Cryptography;
using System.Text;
using GrantSilo.Cedar;

namespace GrantSilo.Grains.Policies;

/// <summary>
/// The policy set GrantSilo ships (<c>Policies/default.cedar</c>, embedded). It is version 0: active
/// on every silo until the first publish, without being written anywhere.
/// </summary>
public static class DefaultPolicySet
{
    private static readonly Lazy<string> LazyText = new(Load);

    /// <summary>The Cedar text of the default policy set.</summary>
    public static string Text => LazyText.Value;

    /// <summary>Version 0's record.</summary>
    public static PolicyVersionInfo Info(bool isActive) => new()
    {
        Version = 0,
        Author = "system",
        PublishedAt = DateTimeOffset.UnixEpoch,
        Sha256 = PolicyText.Sha256(Text),
        PolicyIds = [.. PolicyText.Parse(Text).Policies.Select(p => p.Id)],
        IsActive = isActive,
    };

    private static string Load()
    {
        using var stream = typeof(DefaultPolicySet).Assembly.GetManifestResourceStream("GrantSilo.Grains.Policies.default.cedar")
            ?? throw new InvalidOperationException("The default policy set is missing from GrantSilo.Grains (embedded resource GrantSilo.Grains.Policies.default.cedar).");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

/// <summary>How GrantSilo parses and fingerprints policy text.</summary>
internal static class PolicyText
{
    /// <summary>Parses (templates included) with <c>@id</c> annotations as policy ids, so decisions name policies as their authors do.</summary>
    public static PolicySet Parse(string text) => PolicySet.ParseWithTemplates(text, PolicyIdSource.IdAnnotation);

    public static bool TryParse(string text, out PolicySet? set, out CedarParseException? error)
    {
        try
        {
            set = Parse(text);
            error = null;
            return true;
        }
        catch (CedarParseException exception)
        {
            set = null;
            error = exception;
            return false;
        }
    }

    /// <summary>A version's text with its template links applied.</summary>
    public static PolicySet Compile(string text, IReadOnlyList<PolicyLink> links) => Link(Parse(text), links);

    /// <summary>Applies template links to a parsed set; throws <see cref="PolicyLinkException"/> when one does not fit.</summary>
    public static PolicySet Link(PolicySet set, IReadOnlyList<PolicyLink> links)
    {
        foreach (var link in links)
        {
            set = set.Link(
                link.TemplateId,
                link.LinkId,
                link.PrincipalType is { } type && link.PrincipalId is { } id ? new EntityUid(type, id) : null,
                link.ResourceId is { } resource ? new EntityUid(CedarRequestBuilder.ResourceType, resource) : null);
        }
        return set;
    }

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
