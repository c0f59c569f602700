using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Identity.Keys;

/// <summary>
/// An issuer's key set and how it is kept current: re-read every refresh interval (on the injected
/// <see cref="TimeProvider"/>'s timer) and, rate-limited, when a token names a kid the set lacks. A failed read
/// keeps the last good set; a set never loaded is <c>null</c> (callers fail closed). Every change of content
/// raises <see cref="Changed"/> and a new generation.
/// </summary>
internal abstract partial class JwksSource : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _rateLock = new();
    private readonly TimeSpan _refreshInterval;
    private readonly TimeSpan _unknownKidMinInterval;
    private readonly IReadOnlySet<string> _algorithms;
    private ITimer? _timer;
    private KeySet? _current;
    private DateTimeOffset? _lastUnknownKidRefresh;
    private long _refreshCount;

    protected JwksSource(string issuer, IReadOnlySet<string> algorithms, TimeSpan refreshInterval, TimeSpan unknownKidMinInterval, TimeProvider time, ILogger logger)
    {
        Issuer = issuer;
        _algorithms = algorithms;
        _refreshInterval = refreshInterval;
        _unknownKidMinInterval = unknownKidMinInterval;
        Time = time;
        Logger = logger;
    }

    /// <summary>Raised after the key set changed (a key added, replaced or removed).</summary>
    public event Action<JwksSource>? Changed;

    public string Issuer { get; }

    /// <summary>The last good key set, or null if none was ever loaded.</summary>
    public KeySet? Current => Volatile.Read(ref _current);

    /// <summary>How many reads were made (for tests).</summary>
    public long RefreshCount => Interlocked.Read(ref _refreshCount);

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    /// <summary>Loads once and starts the periodic refresh.</summary>
    public virtual void Start()
    {
        _ = RefreshAsync(CancellationToken.None);
        _timer = Time.CreateTimer(static state => _ = ((JwksSource)state!).RefreshAsync(CancellationToken.None), this, _refreshInterval, _refreshInterval);
    }

    /// <summary>Reads the source and applies its content if it changed. Never throws except on cancellation.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _refreshCount);
            byte[] content;
            try
            {
                content = await ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRefreshFailed(Logger, Issuer, Current is null ? "no key set was ever loaded: its tokens are refused" : "the last good key set stays in use", e.GetType().Name, Safe.Text(e.Message));
                return;
            }

            var fingerprint = SHA256.HashData(content);
            var current = Current;
            if (current is not null && fingerprint.AsSpan().SequenceEqual(current.Fingerprint))
            {
                return;
            }

            Dictionary<string, VerificationKey> keys;
            try
            {
                keys = JwksParser.Parse(content, _algorithms, Issuer, Logger);
            }
            catch (JsonException e)
            {
                LogRefreshFailed(Logger, Issuer, "the last good key set stays in use", "invalid JWKS", Safe.Text(e.Message));
                return;
            }

            var next = new KeySet(keys, fingerprint, (current?.Generation ?? 0) + 1);
            Volatile.Write(ref _current, next);
            LogKeysLoaded(Logger, Issuer, keys.Count, next.Generation, keys.Keys);
            Changed?.Invoke(this);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Refreshes because a token named a kid the set lacks (or the set was never loaded), unless such a refresh
    /// ran less than <c>UnknownKidRefreshMinInterval</c> ago. Returns whether it refreshed.
    /// </summary>
    public async ValueTask<bool> TryRefreshForUnknownKidAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        lock (_rateLock)
        {
            if (_lastUnknownKidRefresh is { } last && now - last < _unknownKidMinInterval)
            {
                return false;
            }

            _lastUnknownKidRefresh = now;
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The raw JWKS document.</summary>
    protected abstract ValueTask<byte[]> ReadAsync(CancellationToken cancellationToken);

    public virtual void Dispose()
    {
        _timer?.Dispose();
        _gate.Dispose();
        GC.SuppressFinalize(this);
    }

    [LoggerMessage(EventId = (int)IdentityEventId.KeysLoaded, Level = LogLevel.Information, Message = "Issuer {Issuer}: key set loaded, {Count} key(s), generation {Generation}: [{KeyIds}]")]
    private static partial void LogKeysLoaded(ILogger logger, string issuer, int count, long generation, IEnumerable<string> keyIds);

    [LoggerMessage(EventId = (int)IdentityEventId.KeysRefreshFailed, Level = LogLevel.Warning, Message = "Issuer {Issuer}: reading its JWKS failed ({Kind}: {Reason}); {Consequence}")]
    private static partial void LogRefreshFailed(ILogger logger, string issuer, string consequence, string kind, string reason);
}

/// <summary>A JWKS JSON file, re-read when its content changes.</summary>
internal sealed class JwksFileSource(string issuer, string path, IReadOnlySet<string> algorithms, TimeSpan refreshInterval, TimeSpan unknownKidMinInterval, TimeProvider time, ILogger logger)
    : JwksSource(issuer, algorithms, refreshInterval, unknownKidMinInterval, time, logger)
{
    private const long MaxBytes = 1 << 20;

    // Synchronous on purpose: a refresh driven by a fake clock's timer is complete when the clock has moved.
    protected override ValueTask<byte[]> ReadAsync(CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > MaxBytes)
        {
            throw new InvalidDataException($"the JWKS file is larger than {MaxBytes} bytes");
        }

        return ValueTask.FromResult(File.ReadAllBytes(path));
    }
}

/// <summary>A JWKS fetched over HTTPS (or http on loopback, for tests).</summary>
internal sealed class JwksHttpSource(string issuer, Uri uri, HttpClient client, IReadOnlySet<string> algorithms, TimeSpan refreshInterval, TimeSpan unknownKidMinInterval, TimeProvider time, ILogger logger)
    : JwksSource(issuer, algorithms, refreshInterval, unknownKidMinInterval, time, logger)
{
    private const int MaxBytes = 1 << 20;
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    protected override async ValueTask<byte[]> ReadAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FetchTimeout);
        using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"the JWKS URL answered {(int)response.StatusCode}");
        }

        if (response.Content.Headers.ContentLength > MaxBytes)
        {
            throw new InvalidDataException($"the JWKS is larger than {MaxBytes} bytes");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw new InvalidDataException($"the JWKS is larger than {MaxBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

/// <summary>A fixed key set (the development issuer's own key).</summary>
internal sealed class StaticKeySource : JwksSource
{
    private readonly byte[] _jwks;

    public StaticKeySource(string issuer, byte[] jwks, IReadOnlySet<string> algorithms, TimeProvider time, ILogger logger)
        : base(issuer, algorithms, TimeSpan.FromDays(1), TimeSpan.FromDays(1), time, logger) => _jwks = jwks;

    public override void Start() => RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();

    protected override ValueTask<byte[]> ReadAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_jwks);
}
