using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http;

/// <summary>
/// The live streams (<c>/v1/approvals/stream</c>, <c>/v1/audit/stream</c>) each caller has open on this silo, at most
/// <see cref="HttpApiOptions.MaxStreamsPerCaller"/> at once: a stream holds a subscription (and its renewals) and a
/// connection for as long as the caller's token lives, so the per-request rate limit alone does not bound them.
/// </summary>
internal sealed class StreamSlots(IOptions<HttpApiOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>
    /// A slot for one more stream of <paramref name="caller"/>, given back when the request ends (whatever ends it); or
    /// the 429 problem to answer when the caller already has as many open as it may.
    /// </summary>
    public IResult? TryOpen(HttpContext http, string caller)
    {
        var limit = options.Value.MaxStreamsPerCaller;
        while (true)
        {
            var open = _open.GetOrAdd(caller, 0);
            if (open >= limit)
            {
                return Problems.Of(StatusCodes.Status429TooManyRequests, Problems.TooManyStreams, "Too many streams",
                    $"This caller has {open} streams open on this silo, as many as it may (GrantSilo:Http:MaxStreamsPerCaller {limit}): close one before opening another.");
            }
            if (_open.TryUpdate(caller, open + 1, open))
            {
                http.Response.RegisterForDispose(new Slot(this, caller));
                return null;
            }
        }
    }

    /// <summary>How many streams <paramref name="caller"/> has open (for tests).</summary>
    internal int OpenOf(string caller) => _open.TryGetValue(caller, out var open) ? open : 0;

    private void Close(string caller)
    {
        while (true)
        {
            var open = _open[caller];
            if (open <= 1)
            {
                // The last one: the entry goes, so callers long gone hold no memory (only if no other stream opened meanwhile).
                if (_open.TryRemove(new KeyValuePair<string, int>(caller, open)))
                {
                    return;
                }
            }
            else if (_open.TryUpdate(caller, open - 1, open))
            {
                return;
            }
        }
    }

    private sealed class Slot(StreamSlots slots, string caller) : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                slots.Close(caller);
            }
        }
    }
}
