using GrantSilo.Grains.Access;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tasks;

// The task's paged reads: the live sessions holding its credentials, and those credentials. task.read lets a caller
// list them, but each is shown only when the caller could read it one by one (session.read, credential.read): the
// reads below are the cluster's own calls, which no rule checks (see CallerReads).
internal sealed partial class TaskGrain
{
    public async Task<GrantResult<Page<SessionInfo>>> ListSessionsAsync(string? continuationToken, int? pageSize, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<Page<SessionInfo>>.Fail(GrantErrorCode.TaskNotFound, $"Task '{ShownKey}' does not exist.", target: ShownKey);
        }
        if (await CallerReads.ForCurrentCallerAsync<SessionInfo>(accessRules, CallerOperations.SessionRead, TargetFacts.Of) is not { } readable)
        {
            return CallerReads.Unconfirmed($"Listing the sessions of task '{ShownKey}'");
        }
        return await Listing.LiveSessionsAsync(GrainFactory, Index.Sessions, continuationToken, pageSize, readable);
    }

    // A task's credentials are indexed by the sessions that issued them: the page walks the task's sessions in
    // id order and each session's credentials for this task in id order. The token names the session and the
    // last credential covered in it (empty: the whole session is covered).
    public async Task<GrantResult<Page<CredentialInfo>>> ListCredentialsAsync(string? continuationToken, int? pageSize, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<Page<CredentialInfo>>.Fail(GrantErrorCode.TaskNotFound, $"Task '{ShownKey}' does not exist.", target: ShownKey);
        }
        var size = Page.Size(pageSize);
        if (!size.IsSuccess)
        {
            return size.Error;
        }
        if (await CallerReads.ForCurrentCallerAsync<CredentialInfo>(accessRules, CallerOperations.CredentialRead, TargetFacts.Of) is not { } readable)
        {
            return CallerReads.Unconfirmed($"Listing the credentials of task '{ShownKey}'");
        }
        var after = PageToken.Decode(continuationToken);
        if (!after.IsSuccess)
        {
            return after.Error;
        }
        string? afterSession = null;
        var afterCredential = "";
        if (after.Value is { } position)
        {
            var separator = position.IndexOf('\n', StringComparison.Ordinal);
            if (separator <= 0)
            {
                return GrantResult<Page<CredentialInfo>>.Fail(GrantErrorCode.InvalidArgument, "The continuation token is malformed; pass back a token a listing returned.");
            }
            afterSession = position[..separator];
            afterCredential = position[(separator + 1)..];
        }
        var sessions = Index.Sessions
            .Where(s => afterSession is null || string.CompareOrdinal(s, afterSession) > 0 || (s == afterSession && afterCredential.Length > 0))
            .Order(StringComparer.Ordinal)
            .ToList();
        var items = new List<CredentialInfo>();
        // Scanned credentials and visited sessions both spend the page's budget, so one page is bounded work.
        var budget = size.Value;
        for (var i = 0; i < sessions.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var session = sessions[i];
            var start = session == afterSession ? afterCredential : null;
            var scan = await GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(session).ScanCredentialsAsync(Key, start, budget);
            if (!scan.IsSuccess && scan.Error.Code != GrantErrorCode.SessionNotFound)
            {
                return scan.Error;
            }
            if (scan.IsSuccess)
            {
                items.AddRange(scan.Value.Items.Where(readable));
                if (scan.Value.More)
                {
                    return new Page<CredentialInfo> { Items = items, ContinuationToken = PageToken.Encode($"{session}\n{scan.Value.LastScanned}") };
                }
                budget -= scan.Value.Scanned;
            }
            budget--;
            if (budget <= 0 && i < sessions.Count - 1)
            {
                return new Page<CredentialInfo> { Items = items, ContinuationToken = PageToken.Encode($"{session}\n") };
            }
        }
        return new Page<CredentialInfo> { Items = items };
    }
}
