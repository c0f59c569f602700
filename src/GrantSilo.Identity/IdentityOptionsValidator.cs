using System.Net;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity;

/// <summary>Checks <see cref="IdentityOptions"/> at start-up; every message names the key and how to fix it.</summary>
public sealed class IdentityOptionsValidator : IValidateOptions<IdentityOptions>
{
    private const string Section = IdentityOptions.SectionName;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, IdentityOptions options)
    {
        var errors = Check(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>All problems with <paramref name="options"/>, as messages.</summary>
    public static List<string> Check(IdentityOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Audience) || options.Audience.Any(char.IsWhiteSpace))
        {
            errors.Add($"{Section}:Audience must be a non-empty value without white space (the 'aud' GrantSilo's tokens name, e.g. \"grantsilo\").");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > IdentityOptions.MaxClockSkew)
        {
            errors.Add($"{Section}:ClockSkew is {options.ClockSkew}: it must be between 00:00:00 and {IdentityOptions.MaxClockSkew} (default 00:00:30).");
        }

        if (options.CacheSize is < 1 or > 10_000_000)
        {
            errors.Add($"{Section}:CacheSize is {options.CacheSize}: it must be between 1 and 10000000 (default 100000).");
        }

        if (options.Issuers.Count == 0 && !options.Development.Enabled)
        {
            errors.Add($"No issuer is trusted: add one under {Section}:Issuers (Name, Kind, Issuer or TrustDomain, JwksFile or JwksUri), or for local use set {Section}:Development:Enabled=true.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var issuerValues = new HashSet<string>(StringComparer.Ordinal);
        if (options.Development.Enabled)
        {
            names.Add(DevelopmentIssuer.IssuerName);
            issuerValues.Add(options.Development.Issuer);
        }

        for (var i = 0; i < options.Issuers.Count; i++)
        {
            CheckIssuer(options.Issuers[i], $"{Section}:Issuers:{i}", names, issuerValues, errors);
        }

        CheckNamesBelongToOneIssuer(options.Issuers, errors);

        for (var i = 0; i < options.Workloads.Count; i++)
        {
            var w = options.Workloads[i];
            var key = $"{Section}:Workloads:{i}";
            if (!SpiffeId.TryParseWorkloadId(w.SpiffeId, out _))
            {
                errors.Add($"{key}:SpiffeId '{w.SpiffeId}' is not a SPIFFE workload ID: write spiffe://<trust-domain>/<path>, lower-case trust domain.");
            }

            CheckRoles(w.Roles, key, errors);
        }

        for (var i = 0; i < options.Services.Count; i++)
        {
            var s = options.Services[i];
            var key = $"{Section}:Services:{i}";
            var issuer = options.Issuers.FirstOrDefault(x => x.Name == s.Issuer);
            if (issuer is null || issuer.Kind != IssuerKind.Oidc)
            {
                errors.Add($"{key}:Issuer '{s.Issuer}' must be the Name of an OIDC issuer under {Section}:Issuers.");
            }

            if (string.IsNullOrWhiteSpace(s.Name))
            {
                errors.Add($"{key}:Name must be the service's name-claim value.");
            }
            else if (issuer is { Kind: IssuerKind.Oidc, CallerKind: CallerKind.Service } && IssuerNamespace.Of(issuer) is var serviceNames
                && !serviceNames.Any(n => n.Matches(CallerAuthenticator.Named(IssuerNamespace.ServicePrefix, s.Name))))
            {
                errors.Add($"{key}:Name '{s.Name}' is outside the names issuer '{s.Issuer}' is authoritative for ({string.Join(", ", serviceNames)}): its tokens could never name this service. Fix the name, or add it to the issuer's Names.");
            }

            CheckRoles(s.Roles, key, errors);
        }

        var dev = options.Development;
        if (dev.Enabled)
        {
            if (string.IsNullOrWhiteSpace(dev.Issuer))
            {
                errors.Add($"{Section}:Development:Issuer must not be empty (default \"grantsilo-development\").");
            }

            if (dev.KeyFile is not null && string.IsNullOrWhiteSpace(dev.KeyFile))
            {
                errors.Add($"{Section}:Development:KeyFile must be a file path, or left out for the default {DevelopmentIssuerOptions.DefaultKeyFile}.");
            }
        }

        return errors;
    }

    private static void CheckIssuer(TrustedIssuerOptions issuer, string key, HashSet<string> names, HashSet<string> issuerValues, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(issuer.Name))
        {
            errors.Add($"{key}:Name must be set (a short name for logs and Caller.Issuer).");
        }
        else if (!names.Add(issuer.Name))
        {
            errors.Add($"{key}:Name '{issuer.Name}' is used twice (or is reserved for the development issuer): names must be unique.");
        }

        key = $"{key} ('{issuer.Name}')";
        if (!Enum.IsDefined(issuer.Kind))
        {
            errors.Add($"{key}:Kind must be Oidc or Spiffe.");
        }

        if (issuer.Kind == IssuerKind.Oidc)
        {
            if (string.IsNullOrWhiteSpace(issuer.Issuer))
            {
                errors.Add($"{key}:Issuer must be set for an OIDC issuer: the exact 'iss' of its tokens.");
            }

            if (issuer.TrustDomain is not null)
            {
                errors.Add($"{key}:TrustDomain is for SPIFFE issuers only: remove it or set Kind=Spiffe.");
            }

            if (issuer.CallerKind is not (CallerKind.Person or CallerKind.Service))
            {
                errors.Add($"{key}:CallerKind must be Person or Service for an OIDC issuer (agents authenticate with JWT-SVIDs).");
            }

            if (string.IsNullOrWhiteSpace(issuer.NameClaim) || string.IsNullOrWhiteSpace(issuer.RolesClaim))
            {
                errors.Add($"{key}:NameClaim and RolesClaim must not be empty (defaults \"sub\" and \"roles\").");
            }

            var problems = new List<string>();
            IssuerNamespace.Of(issuer, problems);
            foreach (var problem in problems)
            {
                errors.Add($"{key}:Names has {problem}: write GrantSilo names such as \"{IssuerNamespace.PrefixOf(issuer.CallerKind)}*@acme.dev\" (one '*' for any run of characters) or exact names.");
            }
        }
        else if (issuer.Kind == IssuerKind.Spiffe && (issuer.TrustDomain is null || !SpiffeId.IsTrustDomainName(issuer.TrustDomain)))
        {
            errors.Add($"{key}:TrustDomain '{issuer.TrustDomain}' must be a SPIFFE trust domain name (lower-case letters, digits, '.', '-', '_'; e.g. \"acme.dev\") for a SPIFFE issuer.");
        }

        if (issuer.Kind == IssuerKind.Spiffe && issuer.Names.Count > 0)
        {
            errors.Add($"{key}:Names is for OIDC issuers only: a SPIFFE issuer is authoritative for the SPIFFE IDs of its TrustDomain. Remove Names.");
        }

        if (!string.IsNullOrEmpty(issuer.Issuer) && !issuerValues.Add(issuer.Issuer))
        {
            errors.Add($"{key}:Issuer '{issuer.Issuer}' is trusted twice: each 'iss' may belong to one issuer only.");
        }

        var hasFile = !string.IsNullOrWhiteSpace(issuer.JwksFile);
        if (hasFile == (issuer.JwksUri is not null))
        {
            errors.Add($"{key}: set exactly one of JwksFile (a JWKS JSON file) and JwksUri (an https URL).");
        }

        if (issuer.JwksUri is { } uri && !IsAllowedJwksUri(uri))
        {
            errors.Add($"{key}:JwksUri '{uri}' must be an absolute https URL (http is accepted only on a 127.0.0.0/8 address, for tests).");
        }

        if (issuer.RefreshInterval < TimeSpan.FromSeconds(1) || issuer.RefreshInterval > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:RefreshInterval is {issuer.RefreshInterval}: it must be between 00:00:01 and 1.00:00:00 (default 00:05:00).");
        }

        if (issuer.UnknownKidRefreshMinInterval < TimeSpan.FromSeconds(1) || issuer.UnknownKidRefreshMinInterval > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:UnknownKidRefreshMinInterval is {issuer.UnknownKidRefreshMinInterval}: it must be between 00:00:01 and 1.00:00:00 (default 00:00:30).");
        }

        foreach (var alg in issuer.Algorithms)
        {
            if (!TrustedIssuerOptions.SupportedAlgorithms.Contains(alg, StringComparer.Ordinal))
            {
                errors.Add($"{key}:Algorithms has '{alg}': only asymmetric algorithms are accepted ({string.Join(", ", TrustedIssuerOptions.SupportedAlgorithms)}); never 'none' or HMAC.");
            }
        }
    }

    // A name means one caller whichever issuer vouched for it (the access rules, a task's person and orchestrator, an
    // approver and roles bound by name compare names alone), so a name two issuers could vouch for would let a caller
    // of one act as the other's. Fail closed: such a configuration does not start.
    private static void CheckNamesBelongToOneIssuer(List<TrustedIssuerOptions> issuers, List<string> errors)
    {
        var namespaces = issuers.Select(i => Enum.IsDefined(i.Kind) ? IssuerNamespace.Of(i) : []).ToList();
        for (var b = 1; b < issuers.Count; b++)
        {
            for (var a = 0; a < b; a++)
            {
                var shared = namespaces[a].SelectMany(pa => namespaces[b].Select(pb => (pa, pb, Name: NamePattern.Shared(pa, pb))))
                    .FirstOrDefault(x => x.Name is not null);
                if (shared.Name is null)
                {
                    continue;
                }

                var (first, second) = (issuers[a], issuers[b]);
                var keys = $"{Section}:Issuers:{b} ('{second.Name}') and {Section}:Issuers:{a} ('{first.Name}')";
                if (first.Kind == IssuerKind.Spiffe)
                {
                    errors.Add($"{keys} both vouch for SPIFFE trust domain '{first.TrustDomain}': a trust domain has one issuer, or an agent of one could be named by the other. Publish the trust domain's keys in one JWKS under one issuer, or give each issuer its own TrustDomain.");
                }
                else if (first.Names.Count == 0 || second.Names.Count == 0)
                {
                    var kind = first.CallerKind == CallerKind.Service ? "service" : "person";
                    errors.Add($"{keys} are both OIDC issuers of {kind}s, and {(first.Names.Count == 0 && second.Names.Count == 0 ? "neither declares" : "one does not declare")} the names it is authoritative for, so both could vouch for '{shared.Name}': a caller of one could act as the other's. Give each its own Names (e.g. Issuers:{a}:Names:0={kind}:*@acme.dev and Issuers:{b}:Names:0={kind}:*@partner.example).");
                }
                else
                {
                    errors.Add($"{keys} could both vouch for the name '{shared.Name}' (their Names '{shared.pa}' and '{shared.pb}' overlap): a caller of one could act as the other's. Make their Names disjoint (e.g. person:*@acme.dev and person:*@partner.example).");
                }
            }
        }
    }

    private static void CheckRoles(List<string> roles, string key, List<string> errors)
    {
        foreach (var role in roles)
        {
            if (!RoleNames.IsValid(role))
            {
                errors.Add($"{key}:Roles has '{role}': a role is 1-64 lower-case letters, digits, '.', '_', '-' or ':'.");
            }
        }
    }

    /// <summary>https, or http on a literal 127.0.0.0/8 address.</summary>
    internal static bool IsAllowedJwksUri(Uri uri)
    {
        if (!uri.IsAbsoluteUri || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return true;
        }

        return uri.Scheme == Uri.UriSchemeHttp
            && IPAddress.TryParse(uri.Host, out var address)
            && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            && address.GetAddressBytes()[0] == 127;
    }
}

/// <summary>Role-name rules shared by configuration and tokens.</summary>
internal static class RoleNames
{
    public static bool IsValid(string? role)
    {
        if (string.IsNullOrEmpty(role) || role.Length > 64)
        {
            return false;
        }

        foreach (var c in role)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
