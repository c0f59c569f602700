using System.ComponentModel.DataAnnotations;

namespace GrantSilo.Grains.Audit;

/// <summary>The audit log: how long a decision may wait for its record, batching, checkpoints and keys. Bound from <c>GrantSilo:Audit</c>.</summary>
public sealed class AuditOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Audit";

    /// <summary>
    /// False turns the durable audit off (records are then kept in memory only, bounded, and lost on restart). For
    /// measurements; never for a deployment. Default true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long a decision waits for its record to become durable before it is denied with
    /// <see cref="DecisionReason.AuditUnavailable"/> (default 1 second). Also how long a record waits for room in a full queue.
    /// </summary>
    public TimeSpan DurableWithin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many records may wait to be written (default 20,000); a full queue pushes back on decisions.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 20_000;

    /// <summary>
    /// The most records one group commit writes (default: the store's: 1,000 for segment files, 100 for Azure Tables, its
    /// limit for one transaction).
    /// </summary>
    [Range(2, 100_000)]
    public int? MaxBatch { get; set; }

    /// <summary>How long the writer waits before writing a failed batch again (default 200 ms).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A signed checkpoint is written at least this often while records are written (default 1 minute).</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>... and at least every this many records (default 10,000).</summary>
    [Range(1, 10_000_000)]
    public int CheckpointEvery { get; set; } = 10_000;

    /// <summary>
    /// The stream this silo writes (its own hash chain). Default: <c>local</c> for the file store, the silo's name for a
    /// shared store. Two live silos must never write one stream (a shared store refuses the second writer's records).
    /// </summary>
    public string? Stream { get; set; }

    /// <summary>
    /// The PEM file of the ECDSA P-256 private key that signs checkpoints. When unset, a key is made on first start and
    /// kept in <see cref="KeyDirectory"/> (<c>audit-signing-key.pem</c>). Never logged.
    /// </summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>
    /// The file of the key (at least 32 bytes, base64) under which token-derived values are hashed (HMAC-SHA-256). When
    /// unset, one is made on first start and kept in <see cref="KeyDirectory"/> (<c>audit-hash-key</c>). Every silo of a
    /// cluster needs the same one, or an investigator's token finds only one silo's records. Never logged.
    /// </summary>
    public string? HashKeyFile { get; set; }

    /// <summary>
    /// Where generated keys are kept (default: the file store's directory, else <c>grantsilo-keys</c>). Made owner-only
    /// (0700); on Unix it and the keys in it must be the silo's user's alone, or the silo does not start
    /// (<see cref="GrantSilo.Identity.KeyFileRefusedException"/>).
    /// </summary>
    public string? KeyDirectory { get; set; }

    /// <summary>
    /// Emit every durable record as a log record on the category <see cref="AuditJournal.RecordsCategory"/> (default false),
    /// for an OpenTelemetry logs exporter to ship to a SIEM. <c>GrantSilo:Telemetry:AuditLogsOtlpEndpoint</c> turns it on.
    /// </summary>
    public bool LogRecords { get; set; }

    /// <summary>PEM files of retired public keys whose checkpoints still verify.</summary>
    public IList<string> TrustedPublicKeyFiles { get; set; } = [];

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DurableWithin <= TimeSpan.Zero || DurableWithin > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(DurableWithin)} is between 0 and 1 minute (it is {DurableWithin}); a decision waits that long for its record.");
        }
        if (RetryDelay <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(RetryDelay)} must be positive.");
        }
        if (CheckpointInterval <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(CheckpointInterval)} must be positive.");
        }
        if (Stream is { } stream && !AuditStreams.IsValidName(stream))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(Stream)} '{stream}' is 1-64 letters, digits, '-' or '_'.");
        }
    }
}

/// <summary>Options of the embedded default store: append-only segment files. Bound from <c>GrantSilo:Audit:File</c>.</summary>
public sealed class FileAuditStoreOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Audit:File";

    /// <summary>The directory of the segment files (default <c>grantsilo-audit</c>, relative to the working directory).</summary>
    public string Directory { get; set; } = "grantsilo-audit";

    /// <summary>A segment is closed and the next begun once it holds this many bytes (default 64 MiB).</summary>
    [Range(4096, long.MaxValue)]
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long closed segments are kept (default: forever). A segment is deleted once its newest record is older;
    /// verification then starts at the oldest segment kept.
    /// </summary>
    public TimeSpan? Retention { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(Directory)} is required: the directory the audit segments are written to.");
        }
        if (Retention is { } retention && retention < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(Retention)} is at least one hour (it is {retention}).");
        }
    }
}
