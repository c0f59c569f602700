using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tokens;

/// <summary>
/// GrantSilo's credential tokens (<c>GrantSilo:Tokens</c>): who issues them (<c>iss</c>) and the audience of a credential
/// issued without a resource indicator.
/// </summary>
public sealed class TokenOptions : IValidatableObject
{
    public const string SectionName = "GrantSilo:Tokens";

    /// <summary>
    /// The <c>iss</c> of every credential, and the issuer of the authorization server metadata: this deployment's public
    /// base URL (<c>https://grantsilo.example.com</c>). Every silo of a deployment has the same one.
    /// </summary>
    public string Issuer { get; set; } = "urn:grantsilo:local";

    /// <summary>The <c>aud</c> of a credential whose request named no resource (RFC 8707).</summary>
    public string DefaultAudience { get; set; } = "urn:grantsilo:any-resource";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsResourceIndicator(Issuer))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(Issuer)} must be an absolute URI without a fragment, such as https://grantsilo.example.com.", [nameof(Issuer)]);
        }
        if (!IsResourceIndicator(DefaultAudience))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(DefaultAudience)} must be an absolute URI without a fragment (an RFC 8707 resource indicator).", [nameof(DefaultAudience)]);
        }
    }

    /// <summary>True for an RFC 8707 resource indicator: an absolute URI without a fragment, at most 2048 characters.</summary>
    public static bool IsResourceIndicator(string? value) =>
        value is { Length: > 0 and <= 2048 } && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Fragment.Length == 0 && !value.Contains('#', StringComparison.Ordinal)
        && !value.Any(char.IsWhiteSpace);
}

/// <summary>Validates <see cref="TokenOptions"/> at start-up.</summary>
internal sealed class TokenOptionsValidator : IValidateOptions<TokenOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenOptions options)
    {
        var errors = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => e.ErrorMessage ?? $"{TokenOptions.SectionName} is invalid"));
    }
}
