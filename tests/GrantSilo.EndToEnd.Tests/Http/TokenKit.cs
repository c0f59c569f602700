using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>Every message the host logs, formatted, with its exception: to show what never reaches a log.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink._lines.Enqueue($"{category} [{eventId.Id}] {formatter(state, exception)} {exception}");
    }
}

/// <summary>DPoP proofs (RFC 9449) and hand-made JWTs for the token tests.</summary>
internal static class TokenKit
{
    /// <summary>A DPoP proof by <paramref name="key"/> for <paramref name="method"/> <paramref name="url"/> presenting <paramref name="token"/>.</summary>
    public static string Proof(ECDsa key, string method, Uri url, string? token, string? jti = null) =>
        GrantSilo.Testing.DpopProofs.Make(key, method, url.ToString(), token, DateTimeOffset.UtcNow, jti);

    /// <summary>The RFC 7638 thumbprint of <paramref name="key"/>.</summary>
    public static string Thumbprint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(q.X, q.Y);
    }

    /// <summary>A JWT of <paramref name="header"/> and <paramref name="payload"/> signed ES256 by <paramref name="key"/>.</summary>
    public static string Sign(ECDsa key, string header, string payload)
    {
        var input = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(payload);
        return input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    /// <summary>The decoded header or payload (<paramref name="part"/> 0 or 1) of a JWT.</summary>
    public static JsonElement Part(string jwt, int part) => JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[part])).RootElement.Clone();

    /// <summary>The token with its header or payload replaced, keeping the signature.</summary>
    public static string Replace(string jwt, int part, string json)
    {
        var parts = jwt.Split('.');
        parts[part] = Base64UrlEncoder.Encode(json);
        return string.Join('.', parts);
    }
}
