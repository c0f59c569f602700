namespace GrantSilo.Grains.Tests;

/// <summary>
/// The paged reads (an agent's tasks and sessions, a task's sessions and credentials, a session's credentials) and
/// token introspection.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ReadTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private static readonly Scope Reader = Scenario.Scope(0, "doc:read:*");

    // Reads every page; each holds at most pageSize items. Returns the items in order and how many pages there were.
    private static async Task<(List<T> Items, int Pages)> AllPagesAsync<T>(Func<string?, Task<GrantResult<Page<T>>>> read, int pageSize)
    {
        var items = new List<T>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await read(token);
            Assert.True(page.IsSuccess, page.Error?.ToString());
            Assert.True(page.Value.Items.Count <= pageSize, $"A page of {pageSize} held {page.Value.Items.Count} items.");
            items.AddRange(page.Value.Items);
            token = page.Value.ContinuationToken;
            pages++;
            Assert.True(pages < 50, "The listing never ended.");
        }
        while (token is not null);
        return (items, pages);
    }

    private static List<string> Ordinal(IEnumerable<string> ids) => [.. ids.Order(StringComparer.Ordinal)];

    [Fact]
    public async Task ListAgentTasks_PagesInIdOrder_AndLeavesOutEndedTasks()
    {
        var agent = await _s.AgentAsync("lister", Reader);
        var tasks = new List<TaskInfo>();
        for (var i = 0; i < 5; i++)
        {
            tasks.Add(await _s.RootTaskAsync(agent, Reader));
        }
        var (listed, pages) = await AllPagesAsync(token => _s.Client.ListAgentTasksAsync(agent, token, 2), 2);
        Assert.Equal(3, pages);
        Assert.Equal(Ordinal(tasks.Select(t => t.TaskId)), listed.Select(t => t.TaskId).ToList());

        Assert.True((await _s.Client.CompleteTaskAsync(tasks[1].TaskId, "done")).IsSuccess);
        Assert.True((await _s.Client.RevokeTaskAsync(tasks[3].TaskId, "not needed")).IsSuccess);
        (listed, _) = await AllPagesAsync(token => _s.Client.ListAgentTasksAsync(agent, token, 2), 2);
        Assert.Equal(Ordinal([tasks[0].TaskId, tasks[2].TaskId, tasks[4].TaskId]), listed.Select(t => t.TaskId).ToList());
        Assert.All(listed, t => Assert.Equal(GrantTaskStatus.Active, t.Status));
    }

    [Fact]
    public async Task ListAgentSessions_PagesInIdOrder_AndLeavesOutEndedSessions()
    {
        var agent = await _s.AgentAsync("lister", Reader);
        var sessions = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            sessions.Add((await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId);
        }
        var (listed, pages) = await AllPagesAsync(token => _s.Client.ListAgentSessionsAsync(agent, token, 2), 2);
        Assert.Equal(2, pages);
        Assert.Equal(Ordinal(sessions), listed.Select(s => s.SessionId).ToList());

        Assert.True((await _s.Client.EndSessionAsync(sessions[0], "done")).IsSuccess);
        (listed, _) = await AllPagesAsync(token => _s.Client.ListAgentSessionsAsync(agent, token, 2), 2);
        Assert.Equal(Ordinal(sessions.Skip(1)), listed.Select(s => s.SessionId).ToList());
    }

    [Fact]
    public async Task ListTaskSessionsAndCredentials_PageAcrossSessions_AndLeaveOutWhatEnded()
    {
        var agent = await _s.AgentAsync("lister", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var other = await _s.RootTaskAsync(agent, Reader);
        var sessions = new List<string>();
        var credentials = new List<IssuedCredential>();
        for (var i = 0; i < 3; i++)
        {
            var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
            sessions.Add(session);
            for (var j = 0; j < 2; j++)
            {
                credentials.Add((await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId })).Value);
            }
        }
        // A credential of another task in one of the sessions is not the task's.
        var foreign = (await _s.Client.IssueCredentialAsync(sessions[1], new IssueCredentialRequest { TaskId = other.TaskId })).Value;

        var (listedSessions, sessionPages) = await AllPagesAsync(token => _s.Client.ListTaskSessionsAsync(task.TaskId, token, 2), 2);
        Assert.Equal(2, sessionPages);
        Assert.Equal(Ordinal(sessions), listedSessions.Select(s => s.SessionId).ToList());

        var (listed, credentialPages) = await AllPagesAsync(token => _s.Client.ListTaskCredentialsAsync(task.TaskId, token, 2), 2);
        Assert.True(credentialPages >= 3);
        // Ordered by session, then credential id; never the other task's credential, never a token.
        var expected = credentials.OrderBy(c => c.SessionId, StringComparer.Ordinal).ThenBy(c => c.CredentialId, StringComparer.Ordinal).Select(c => c.CredentialId).ToList();
        Assert.Equal(expected, listed.Select(c => c.CredentialId).ToList());
        Assert.DoesNotContain(listed, c => c.CredentialId == foreign.CredentialId);
        Assert.All(listed, c => Assert.Equal(task.TaskId, c.TaskId));

        // A revoked credential, and the credentials of an ended session, are no longer listed; nor is the session.
        Assert.True((await _s.Client.RevokeCredentialAsync(credentials[0].CredentialId, "rotated")).IsSuccess);
        Assert.True((await _s.Client.EndSessionAsync(sessions[2], "done")).IsSuccess);
        (listed, _) = await AllPagesAsync(token => _s.Client.ListTaskCredentialsAsync(task.TaskId, token, 2), 2);
        Assert.Equal(expected.Except([credentials[0].CredentialId, credentials[4].CredentialId, credentials[5].CredentialId]).ToList(), listed.Select(c => c.CredentialId).ToList());
        (listedSessions, _) = await AllPagesAsync(token => _s.Client.ListTaskSessionsAsync(task.TaskId, token, 2), 2);
        Assert.Equal(Ordinal(sessions.Take(2)), listedSessions.Select(s => s.SessionId).ToList());
        Assert.Contains(foreign.CredentialId, (await AllPagesAsync(token => _s.Client.ListTaskCredentialsAsync(other.TaskId, token, 1), 1)).Items.Select(c => c.CredentialId));
    }

    [Fact]
    public async Task ListSessionCredentials_PagesInIdOrder_AndLeavesOutRevokedAndExpired()
    {
        var agent = await _s.AgentAsync("lister", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;
        var shortLived = (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(1) })).Value;
        var kept = (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        var revoked = (await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task.TaskId })).Value;

        var (listed, pages) = await AllPagesAsync(token => _s.Client.ListSessionCredentialsAsync(session, token, 2), 2);
        Assert.Equal(2, pages);
        Assert.Equal(Ordinal([shortLived.CredentialId, kept.CredentialId, revoked.CredentialId]), listed.Select(c => c.CredentialId).ToList());

        Assert.True((await _s.Client.RevokeCredentialAsync(revoked.CredentialId, "rotated")).IsSuccess);
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        (listed, _) = await AllPagesAsync(token => _s.Client.ListSessionCredentialsAsync(session, token, 2), 2);
        Assert.Equal([kept.CredentialId], listed.Select(c => c.CredentialId).ToList());
    }

    [Fact]
    public async Task Listings_RefuseBadPageSizesAndTokens_AndUnknownOwners()
    {
        var agent = await _s.AgentAsync("lister", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.ListAgentTasksAsync(agent, pageSize: 0)).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.ListAgentTasksAsync(agent, pageSize: Page.MaxSize + 1)).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.ListAgentSessionsAsync(agent, "not a token!")).Error?.Code);
        // A well-formed token of another listing's shape is refused too.
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.ListTaskCredentialsAsync(task.TaskId, "c2Vzc2lvbg")).Error?.Code);
        Assert.True((await _s.Client.ListAgentTasksAsync(agent, pageSize: Page.MaxSize)).IsSuccess);
        Assert.Single((await _s.Client.ListAgentTasksAsync(agent)).Value.Items);

        Assert.Equal(GrantErrorCode.AgentNotFound, (await _s.Client.ListAgentTasksAsync("spiffe://nobody.dev/agent")).Error?.Code);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.ListTaskSessionsAsync("t-unknown")).Error?.Code);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.ListTaskCredentialsAsync("t-unknown")).Error?.Code);
        Assert.Equal(GrantErrorCode.SessionNotFound, (await _s.Client.ListSessionCredentialsAsync("s-unknown")).Error?.Code);
    }

    [Fact]
    public async Task Introspect_LiveToken_IsActive_WithItsTaskAgentSessionScopeAndExpiry()
    {
        var agent = await _s.AgentAsync("worker", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var narrow = Scenario.Scope(0, "doc:read:reports/*");
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId, narrow, TimeSpan.FromMinutes(5));

        var result = (await _s.Client.IntrospectAsync(credential.Token)).Value;
        Assert.True(result.Active);
        Assert.Equal(DecisionReason.Allowed, result.Reason);
        Assert.Equal(credential.CredentialId, result.CredentialId);
        Assert.Equal(task.TaskId, result.TaskId);
        Assert.Equal(agent, result.Agent);
        Assert.Equal(session, result.SessionId);
        Assert.Equal(narrow, result.Scope);
        Assert.Equal(credential.ExpiresAt, result.ExpiresAt);
        Assert.DoesNotContain(credential.Token[^43..], result.ToString());
    }

    [Fact]
    public async Task Introspect_ExpiredToken_IsInactive_BecauseItExpired()
    {
        var agent = await _s.AgentAsync("worker", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(1));
        fixture.Time.Advance(TimeSpan.FromMinutes(1));

        var result = (await _s.Client.IntrospectAsync(credential.Token)).Value;
        Assert.False(result.Active);
        Assert.Equal(DecisionReason.CredentialExpired, result.Reason);
        Assert.Equal(task.TaskId, result.TaskId);
    }

    [Fact]
    public async Task Introspect_RevokedToken_IsInactive_SayingWhatWasRevoked()
    {
        var agent = await _s.AgentAsync("worker", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var (_, revokedCredential) = await _s.CredentialAsync(agent, task.TaskId);
        var (_, ofRevokedTask) = await _s.CredentialAsync(agent, task.TaskId);
        var other = await _s.RootTaskAsync(agent, Reader);
        var (_, ofSuspendedAgent) = await _s.CredentialAsync(agent, other.TaskId);

        Assert.True((await _s.Client.RevokeCredentialAsync(revokedCredential.CredentialId, "leaked")).IsSuccess);
        var result = (await _s.Client.IntrospectAsync(revokedCredential.Token)).Value;
        Assert.False(result.Active);
        Assert.Equal(DecisionReason.CredentialRevoked, result.Reason);

        Assert.True((await _s.Client.RevokeTaskAsync(task.TaskId, "withdrawn")).IsSuccess);
        result = (await _s.Client.IntrospectAsync(ofRevokedTask.Token)).Value;
        Assert.False(result.Active);
        // The task's end is in force at once; the cascade may by now have revoked the credential too.
        Assert.Contains(result.Reason, new[] { DecisionReason.TaskRevoked, DecisionReason.CredentialRevoked });

        Assert.True((await _s.Client.SuspendAgentAsync(agent, "compromised")).IsSuccess);
        result = (await _s.Client.IntrospectAsync(ofSuspendedAgent.Token)).Value;
        Assert.False(result.Active);
        Assert.Contains(result.Reason, new[] { DecisionReason.AgentNotActive, DecisionReason.SessionNotActive, DecisionReason.TaskRevoked, DecisionReason.CredentialRevoked });
    }

    [Fact]
    public async Task Introspect_ForgedToken_GetsExactlyTheAnswerOfAnUnknownOne()
    {
        var agent = await _s.AgentAsync("worker", Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var forged = ForgedTokens.For(credential.CredentialId);
        var unknown = ForgedTokens.For(CredentialToken.NewCredentialId());

        var forgedAnswer = (await _s.Client.IntrospectAsync(forged)).Value;
        var unknownAnswer = (await _s.Client.IntrospectAsync(unknown)).Value;
        Assert.False(forgedAnswer.Active);
        Assert.Equal(DecisionReason.UnknownCredential, forgedAnswer.Reason);
        Assert.Equal(unknownAnswer with { ObservedAt = default }, forgedAnswer with { ObservedAt = default });
        Assert.Null(forgedAnswer.TaskId);
        Assert.Null(forgedAnswer.Agent);
        Assert.Null(forgedAnswer.Scope);

        var malformed = (await _s.Client.IntrospectAsync("gs1.not-a-token")).Value;
        Assert.False(malformed.Active);
        Assert.Equal(DecisionReason.MalformedToken, malformed.Reason);
        // The real token is unaffected.
        Assert.True((await _s.Client.IntrospectAsync(credential.Token)).Value.Active);
    }
}
