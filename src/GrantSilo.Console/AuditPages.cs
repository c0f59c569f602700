using GrantSilo.Client;

namespace GrantSilo.WebConsole;

/// <summary>The newest audit records of a query, read page by page (the log answers oldest first) as the signed-in person.</summary>
internal static class AuditPages
{
    /// <summary>The page size asked for (the API's most).</summary>
    public const int PageSize = 1000;

    /// <summary>The most pages read for one view: past that, the view says it stopped and the newest it saw are shown.</summary>
    public const int MaxPages = 50;

    /// <summary>
    /// At most <paramref name="keep"/> records matching <paramref name="query"/> (and <paramref name="where"/>, for
    /// filters the audit query does not have), newest first; <c>Truncated</c> when <see cref="MaxPages"/> pages were read
    /// and more remained.
    /// </summary>
    public static async Task<GrantResult<(IReadOnlyList<AuditRecord> Records, bool Truncated)>> NewestAsync(
        IGrantClient client, AuditQuery query, int keep, Func<AuditRecord, bool>? where, CancellationToken cancellationToken)
    {
        var kept = new Queue<AuditRecord>(keep + 1);
        string? next = null;
        for (var pages = 0; ; pages++)
        {
            if (pages == MaxPages)
            {
                return (kept.Reverse().ToList(), true);
            }
            var page = await client.QueryAuditAsync(query with { PageSize = PageSize, ContinuationToken = next }, cancellationToken).ConfigureAwait(false);
            if (!page.IsSuccess)
            {
                return page.Error!;
            }
            foreach (var entry in page.Value.Items)
            {
                if (where is null || where(entry.Record))
                {
                    kept.Enqueue(entry.Record);
                    if (kept.Count > keep)
                    {
                        kept.Dequeue();
                    }
                }
            }
            // The last page carries a token too (where to follow from): a short page is the last.
            next = page.Value.Items.Count < PageSize ? null : page.Value.ContinuationToken;
            if (next is null)
            {
                return (kept.Reverse().ToList(), false);
            }
        }
    }
}
