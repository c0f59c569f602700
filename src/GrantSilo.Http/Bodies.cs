using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http;

/// <summary>
/// Reads a request body as an operation's request, or says in a problem why not: not <c>application/json</c> (415),
/// larger than the limit (413), not JSON or not this operation's JSON (400, with the field), or a value GrantSilo
/// refuses (its typed problem). The body itself is never repeated back.
/// </summary>
internal static class Bodies
{
    /// <summary>
    /// A faster reader of a body's common shape: the value the serializer would read, or null to leave the body to the
    /// serializer (which reads every other body, and names what is wrong with a refused one).
    /// </summary>
    public delegate T? FastReader<T>(ReadOnlySpan<byte> body) where T : class;

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext http, FastReader<T>? fast = null) where T : class
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<HttpApiOptions>>().Value.MaxRequestBodyBytes;
        if (!http.Request.HasJsonContentType())
        {
            return (null, Problems.Of(StatusCodes.Status415UnsupportedMediaType, Problems.UnsupportedMediaType, "Unsupported media type",
                "The body must be JSON, sent with Content-Type: application/json."));
        }
        if (http.Request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }
        // Pooled: a body is read into a rented buffer, sized from Content-Length when the client sent one, and parsed
        // from it before it is returned (every value parsed is a copy). No per-request buffer for the GC.
        var buffer = ArrayPool<byte>.Shared.Rent(http.Request.ContentLength is { } length and > 0 ? (int)length + 1 : 4096);
        var written = 0;
        try
        {
            try
            {
                while (true)
                {
                    if (written == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1L));
                        buffer.AsSpan(0, written).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    var read = await http.Request.Body.ReadAsync(buffer.AsMemory(written), http.RequestAborted).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    written += read;
                    if (written > limit)
                    {
                        return (null, TooLarge(limit));
                    }
                }
            }
            catch (BadHttpRequestException refused) when (refused.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, TooLarge(limit));
            }
            if (written == 0)
            {
                return (null, Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid JSON", "The request needs a JSON body.", "$"));
            }
            if (fast?.Invoke(buffer.AsSpan(0, written)) is { } common)
            {
                return (common, null);
            }
            try
            {
                var value = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, written), HttpJson.Options);
                return value is null
                    ? (null, Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid JSON", "The body must be a JSON object, not null.", "$"))
                    : (value, null);
            }
            catch (GrantErrorJsonException refused)
            {
                return (null, Problems.From(refused.Error, refused.Path ?? "$"));
            }
            catch (JsonException invalid)
            {
                var field = invalid is JsonMemberException member ? $"{invalid.Path ?? "$"}.{member.Member}" : invalid.Path ?? "$";
                return (null, Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid JSON",
                    $"The body is not valid for this operation at {Problems.Safe(field)}{Where(invalid)}: check the member's name, type and nesting (unknown or repeated members, numbers out of range, nulls for required values and nesting deeper than {HttpJson.MaxDepth} are refused).",
                    field));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Where(JsonException invalid) =>
        invalid.LineNumber is { } line ? $" (line {line + 1}, byte {invalid.BytePositionInLine + 1})" : "";

    /// <summary>The 413 problem of a body larger than <paramref name="limit"/>, whatever its media type.</summary>
    internal static IResult TooLarge(long limit) =>
        Problems.Of(StatusCodes.Status413PayloadTooLarge, Problems.BodyTooLarge, "Body too large",
            $"The body is larger than {limit} bytes (GrantSilo:Http:MaxRequestBodyBytes).");
}
