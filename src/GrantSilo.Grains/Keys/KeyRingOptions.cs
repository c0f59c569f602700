using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Keys;

/// <summary>
/// GrantSilo's signing keys (<c>GrantSilo:Keys</c>): how often they rotate, how long a retired key stays published,
/// and the key-encryption key that wraps every private key before it is stored.
/// </summary>
public sealed class KeyRingOptions : IValidatableObject
{
    public const string SectionName = "GrantSilo:Keys";

    /// <summary>
    /// The key-encryption key: 32 random bytes, base64 (<c>openssl rand -base64 32</c>). Private keys are stored only
    /// wrapped under it (AES-256-GCM). Give this or <see cref="KeyEncryptionKeyFile"/>; a cloud KMS plugs in instead
    /// by registering its own <see cref="IKeyEncryption"/>.
    /// </summary>
    public string? KeyEncryptionKey { get; set; }

    /// <summary>A file holding <see cref="KeyEncryptionKey"/> (base64), readable by the silo only.</summary>
    public string? KeyEncryptionKeyFile { get; set; }

    /// <summary>How long a key signs before the next one takes over (default 30 days).</summary>
    public TimeSpan RotationPeriod { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long a retired key stays published after it stopped signing: at least the longest life of anything it
    /// signed (default 1 day, above the longest credential lifetime a deployment should allow).
    /// </summary>
    public TimeSpan RetiredKeyPublication { get; set; } = TimeSpan.FromDays(1);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RotationPeriod < TimeSpan.FromHours(1) || RotationPeriod > TimeSpan.FromDays(366))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(RotationPeriod)} must be between 01:00:00 and 366.00:00:00.", [nameof(RotationPeriod)]);
        }
        if (RetiredKeyPublication < TimeSpan.Zero || RetiredKeyPublication > TimeSpan.FromDays(366))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(RetiredKeyPublication)} must be between 00:00:00 and 366.00:00:00.", [nameof(RetiredKeyPublication)]);
        }
        if (KeyEncryptionKey is not null && KeyEncryptionKeyFile is not null)
        {
            yield return new ValidationResult($"Give {SectionName}:{nameof(KeyEncryptionKey)} or {SectionName}:{nameof(KeyEncryptionKeyFile)}, not both.", [nameof(KeyEncryptionKey)]);
        }
    }
}

/// <summary>Validates <see cref="KeyRingOptions"/> at start-up.</summary>
internal sealed class KeyRingOptionsValidator : IValidateOptions<KeyRingOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyRingOptions options)
    {
        var errors = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => e.ErrorMessage ?? $"{KeyRingOptions.SectionName} is invalid"));
    }
}
