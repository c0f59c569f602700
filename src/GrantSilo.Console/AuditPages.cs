using GrantSilo.Client;

namespace GrantSilo.WebConsole;

/// <summary>The newest audit records of a query, read newest first page by page as the signed-in person.</summary>
internal static class AuditPages
{
    /// <summary>The page size asked for when a filter of the console's own (<c>where</c>) may pass over records (the API's most).</summary>
    public const int PageSize = 1000;

    /// <summary>
    /// The most pages read for one view, a bound for a <c>where</c> filter that matches little: past that, the view says it
    /// stopped and the newest it found are shown.
    /// </summary>
    public const int MaxPages = 50;

    /// <summary>
    /// At most <paramref name="keep"/> records matching <paramref name="query"/> (and <paramref name="where"/>, for
    /// filters the audit query does not have), newest first. The log is read newest first and reading stops as soon as
    /// <paramref name="keep"/> are found (without <paramref name="where"/>, that is one page of <paramref name="keep"/>);
    /// <c>Truncated</c> when <see cref="MaxPages"/> pages were read and more remained.
    /// </summary>
    public static async Task<GrantResult<(IReadOnlyList<AuditRecord> Records, bool Truncated)>> NewestAsync(
        IGrantClient client, AuditQuery query, int keep, Func<AuditRecord, bool>? where, CancellationToken cancellationToken)
    {
        var kept = new List<AuditRecord>(Math.Clamp(keep, 0, PageSize));
        if (keep <= 0)
        {
            return (kept, false);
        }
        // Every record of a page the log filtered counts, so a page of `keep` is all a view without a filter of its own needs.
        var size = where is null ? Math.Min(keep, PageSize) : PageSize;
        string? next = null;
        for (var pages = 0; pages < MaxPages; pages++)
        {
            var page = await client.QueryAuditAsync(query with { Order = AuditOrder.NewestFirst, PageSize = size, ContinuationToken = next }, cancellationToken).ConfigureAwait(false);
            if (!page.IsSuccess)
            {
                return page.Error!;
            }
            foreach (var entry in page.Value.Items)
            {
                if (where is null || where(entry.Record))
                {
                    kept.Add(entry.Record);
                    if (kept.Count == keep)
                    {
                        return (kept, false);
                    }
                }
            }
            // Newest first, the last page has no token.
            next = page.Value.ContinuationToken;
            if (next is null)
            {
                return (kept, false);
            }
        }
        return (kept, true);
    }
}
