namespace GrantSilo.Grains.Indexes;

/// <summary>
/// Finds the entries of an index that have ended, by asking each. Ends normally reach an index as they happen
/// (one-way notes such as Untrack); this catches the ones that never arrived (a lost message, a creation that
/// failed after it was recorded), so a quota counts only what is live.
/// </summary>
internal static class Compaction
{
    /// <summary>The ids <paramref name="hasEnded"/> says have ended. An id whose answer fails is kept: unknown counts as live.</summary>
    public static async Task<IReadOnlyList<string>> EndedAsync(IEnumerable<string> ids, Func<string, Task<bool>> hasEnded)
    {
        var answers = await Task.WhenAll(ids.ToArray().Select(async id =>
        {
            try
            {
                return await hasEnded(id) ? id : null;
            }
            catch (Exception)
            {
                // Not known to have ended: it stays and keeps counting against the quota (fail closed).
                return null;
            }
        }));
        return [.. answers.OfType<string>()];
    }

    /// <summary>Whether a task has ended (or was never created).</summary>
    public static async Task<bool> TaskEndedAsync(IGrainFactory grains, string taskId)
    {
        var info = await grains.GetGrainByKey<ITaskGrain>(taskId).GetAsync();
        return info.IsSuccess ? info.Value.IsTerminal : info.Error.Code == GrantErrorCode.TaskNotFound;
    }

    /// <summary>Whether a session has ended (or was never created).</summary>
    public static async Task<bool> SessionEndedAsync(IGrainFactory grains, string sessionId)
    {
        var info = await grains.GetGrainByKey<ISessionGrain>(sessionId).GetAsync();
        return info.IsSuccess ? info.Value.Status != SessionStatus.Active : info.Error.Code == GrantErrorCode.SessionNotFound;
    }

    /// <summary>
    /// Whether a credential has ended. One that is not found is not known to have ended (its record's write may have
    /// an unknown outcome): it keeps counting.
    /// </summary>
    public static async Task<bool> CredentialEndedAsync(IGrainFactory grains, string credentialId)
    {
        var info = await grains.GetGrainByKey<ICredentialGrain>(credentialId).GetAsync();
        return info.IsSuccess && info.Value.Status != CredentialStatus.Active;
    }

    /// <summary>The error for a full quota, naming the setting that raises it.</summary>
    public static GrantError QuotaExceeded(string owner, int limit, string entries, string setting, string target) =>
        new(GrantErrorCode.QuotaExceeded, $"{owner} already has {limit} live {entries}, the limit; end some, or raise GrantSilo:Lifecycle:{setting}.", target: target);
}
