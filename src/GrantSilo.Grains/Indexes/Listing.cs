namespace GrantSilo.Grains.Indexes;

/// <summary>Reads one page of an index: the entries' own answers, in id order, leaving out those that ended.</summary>
internal static class Listing
{
    /// <summary>
    /// The live sessions among <paramref name="ids"/>, a page at a time, ordered by session id; only those
    /// <paramref name="visible"/> lets through, when given (a page may then be short).
    /// </summary>
    public static Task<GrantResult<Page<SessionInfo>>> LiveSessionsAsync(IGrainFactory grains, IEnumerable<string> ids, string? continuationToken, int? pageSize, Func<SessionInfo, bool>? visible = null) =>
        ReadPageAsync(
            [.. ids],
            continuationToken,
            pageSize,
            id => grains.GetGrainByKey<ISessionGrain>(id).GetAsync(),
            visible is null ? static session => session.Status == SessionStatus.Active : session => session.Status == SessionStatus.Active && visible(session),
            GrantErrorCode.SessionNotFound);

    /// <summary>
    /// The page of <paramref name="keys"/> after the continuation token: each read from its own grain (in parallel),
    /// entries that are gone (<paramref name="notFound"/>) or no longer <paramref name="live"/> left out. Any other
    /// failure fails the page, so a listing never silently hides what it could not read. The page is cut from the
    /// keys before <paramref name="live"/> judges them, so a page may hold fewer items than its size, or none, and
    /// still have a continuation token: a caller reads on until the token is null.
    /// </summary>
    public static async Task<GrantResult<Page<T>>> ReadPageAsync<T>(
        IEnumerable<string> keys,
        string? continuationToken,
        int? pageSize,
        Func<string, Task<GrantResult<T>>> read,
        Func<T, bool> live,
        GrantErrorCode notFound)
    {
        var size = Page.Size(pageSize);
        if (!size.IsSuccess)
        {
            return size.Error;
        }
        var after = PageToken.Decode(continuationToken);
        if (!after.IsSuccess)
        {
            return after.Error;
        }
        var (slice, more) = PageToken.Slice(keys, after.Value, size.Value);
        var answers = await Task.WhenAll(slice.Select(read));
        var items = new List<T>(answers.Length);
        foreach (var answer in answers)
        {
            if (answer.IsSuccess)
            {
                if (live(answer.Value))
                {
                    items.Add(answer.Value);
                }
            }
            else if (answer.Error.Code != notFound)
            {
                return answer.Error;
            }
        }
        return new Page<T> { Items = items, ContinuationToken = more ? PageToken.Encode(slice[^1]) : null };
    }
}
