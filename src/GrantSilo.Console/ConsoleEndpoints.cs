using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.WebConsole;

/// <summary>The console's non-page routes: its own static assets and the live streams its pages listen to.</summary>
internal static class ConsoleEndpoints
{
    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["console.js"] = "text/javascript; charset=utf-8",
        ["console.css"] = "text/css; charset=utf-8",
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(ConsoleOptions.PathBase + "/assets/{name}", (string name, HttpContext http) =>
        {
            if (!Assets.TryGetValue(name, out var type) || typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("GrantSilo.Console.Assets." + name) is not { } stream)
            {
                return Results.NotFound();
            }
            http.Response.Headers.CacheControl = "no-cache";
            return Results.Stream(stream, type);
        }).ExcludeFromDescription();

        var live = app.MapGroup(ConsoleOptions.PathBase + "/live").RequireAuthorization(ConsoleAuth.Policy).ExcludeFromDescription();
        // Streams last as long as the session, not one request's timeout.
        live.MapGet("/approvals", ApprovalsAsync).DisableRequestTimeout();
        live.MapGet("/tasks/{taskId}", TaskTreeAsync).DisableRequestTimeout();
    }

    // ---- The approvals inbox ----

    private static async Task<IResult> ApprovalsAsync(HttpContext http, CancellationToken cancellationToken)
    {
        if (await ConsoleCaller.OfAsync(http) is not { } caller)
        {
            return Results.Unauthorized();
        }
        if (OpenSlot(http, caller) is { } tooMany)
        {
            return tooMany;
        }
        var observer = new Observer();
        // Subscribed first, listed second: an approval requested in between arrives twice rather than never.
        var subscription = await caller.Client.SubscribeApprovalsAsync(observer, cancellationToken);
        if (!subscription.IsSuccess)
        {
            return Problem(subscription.Error!);
        }
        var pending = await caller.Client.ListPendingApprovalsAsync(cancellationToken);
        if (!pending.IsSuccess)
        {
            await subscription.Value.DisposeAsync();
            return Problem(pending.Error!);
        }
        return TypedResults.ServerSentEvents(observer.ReadAsync(caller, subscription.Value, pending.Value, cancellationToken));
    }

    // A person's live streams count against the same budget as their streams of the API (GrantSilo:Http:MaxStreamsPerCaller
    // on this silo): each one holds a subscription or reads the tree five times a second as them.
    private static IResult? OpenSlot(HttpContext http, ConsoleCaller caller) =>
        http.RequestServices.GetRequiredService<StreamSlots>().TryOpen(http, caller.Name);

    private static IResult Problem(GrantError error) => Results.Problem(title: error.Code.ToString(), detail: error.Message, statusCode: StatusCodes.Status403Forbidden);

    private sealed class Observer : IApprovalObserver
    {
        private readonly Channel<(string Type, ApprovalInfo Approval)> _events = Channel.CreateBounded<(string, ApprovalInfo)>(
            new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public Task OnApprovalRequestedAsync(ApprovalInfo approval)
        {
            _events.Writer.TryWrite(("requested", approval));
            return Task.CompletedTask;
        }

        public Task OnApprovalResolvedAsync(ApprovalInfo approval)
        {
            _events.Writer.TryWrite(("resolved", approval));
            return Task.CompletedTask;
        }

        public async IAsyncEnumerable<SseItem<ApprovalView>> ReadAsync(ConsoleCaller caller, ApprovalSubscription subscription, IReadOnlyList<ApprovalInfo> pending, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            // The stream lasts while the session does: it ends at sign-out as well as when the token expires.
            using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, caller.SessionEnded);
            var left = caller.ExpiresAt - DateTimeOffset.UtcNow;
            session.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            try
            {
                // Said at once, so the page knows it is live even when nothing is waiting (the headers go with it).
                yield return new SseItem<ApprovalView>(ApprovalView.Ready, "ready");
                foreach (var approval in pending)
                {
                    yield return new SseItem<ApprovalView>(await ApprovalView.DescribeAsync(caller, approval, session.Token), "pending") { EventId = approval.ApprovalId };
                }
                while (true)
                {
                    (string Type, ApprovalInfo Approval) next;
                    try
                    {
                        next = await _events.Reader.ReadAsync(session.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }
                    ApprovalView view;
                    try
                    {
                        view = await ApprovalView.DescribeAsync(caller, next.Approval, session.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }
                    yield return new SseItem<ApprovalView>(view, next.Type) { EventId = next.Approval.ApprovalId };
                }
            }
            finally
            {
                await subscription.DisposeAsync();
            }
        }
    }

    // ---- A task tree ----

    private static async Task<IResult> TaskTreeAsync(HttpContext http, string taskId, CancellationToken cancellationToken)
    {
        if (await ConsoleCaller.OfAsync(http) is not { } caller)
        {
            return Results.Unauthorized();
        }
        if (OpenSlot(http, caller) is { } tooMany)
        {
            return tooMany;
        }
        var first = await caller.Client.GetTaskTreeAsync(taskId, cancellationToken);
        if (!first.IsSuccess)
        {
            return Problem(first.Error!);
        }
        return TypedResults.ServerSentEvents(TreeAsync(caller, taskId, first.Value, cancellationToken));
    }

    // The tree as the caller may read it, sent whenever any node's state changes.
    private static async IAsyncEnumerable<SseItem<IReadOnlyList<NodeView>>> TreeAsync(ConsoleCaller caller, string taskId, TaskTreeNode first, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The stream lasts while the session does: it ends at sign-out as well as when the token expires.
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, caller.SessionEnded);
        var left = caller.ExpiresAt - DateTimeOffset.UtcNow;
        session.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        var tree = first;
        var last = "";
        // Credentials are re-read for nodes that have ended while any of theirs is still shown active, so the page
        // watches the cascade reach them too (the page drew them at load).
        var settled = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var nodes = new List<NodeView>();
            foreach (var node in tree.DescendantsAndSelf())
            {
                var view = NodeView.Of(node.Task);
                if (node.Task.IsTerminal && !settled.Contains(node.Task.TaskId))
                {
                    var credentials = await UnlessEndedAsync(() => caller.Client.ListTaskCredentialsAsync(node.Task.TaskId, pageSize: 20, cancellationToken: session.Token), session.Token);
                    if (credentials is null)
                    {
                        yield break;
                    }
                    if (credentials.IsSuccess)
                    {
                        view = view with { Credentials = [.. credentials.Value.Items.Select(c => new CredentialView(c.CredentialId, c.Status.ToString()))] };
                        if (credentials.Value.Items.All(c => c.Status != CredentialStatus.Active))
                        {
                            settled.Add(node.Task.TaskId);
                        }
                    }
                }
                nodes.Add(view);
            }
            var text = JsonSerializer.Serialize(nodes);
            if (text != last)
            {
                last = text;
                yield return new SseItem<IReadOnlyList<NodeView>>(nodes, "tree");
            }
            try
            {
                if (!await timer.WaitForNextTickAsync(session.Token))
                {
                    yield break;
                }
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            var next = await UnlessEndedAsync(() => caller.Client.GetTaskTreeAsync(taskId, session.Token), session.Token);
            if (next is null)
            {
                yield break;
            }
            if (next.IsSuccess)
            {
                tree = next.Value;
            }
        }
    }

    // A read of the live stream, or null when the stream ended (its session ended, or the browser left) meanwhile.
    private static async Task<T?> UnlessEndedAsync<T>(Func<Task<T>> read, CancellationToken ended) where T : class
    {
        try
        {
            return await read();
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            return null;
        }
    }
}

/// <summary>One node of a live tree, as the page shows it.</summary>
public sealed record NodeView(string TaskId, string? ParentTaskId, string Status, string? StatusReason, int PendingCascade, DateTimeOffset ExpiresAt, DateTimeOffset? CheckpointDueAt)
{
    /// <summary>The node's credentials, when they were re-read (after the node ended); null when unchanged.</summary>
    public IReadOnlyList<CredentialView>? Credentials { get; init; }

    public static NodeView Of(TaskInfo task) => new(task.TaskId, task.ParentTaskId, task.Status.ToString(), task.StatusReason, task.PendingCascade, task.ExpiresAt, task.CheckpointDueAt);
}

/// <summary>A credential of a live tree's node: its id and status.</summary>
public sealed record CredentialView(string CredentialId, string Status);

/// <summary>
/// A step-up as the inbox shows it: the structured facts of the approval, the task chain, and the task's purpose,
/// which is text written by the agent side, shown to people and never used in any decision.
/// </summary>
public sealed record ApprovalView
{
    public required string ApprovalId { get; init; }
    public required string Status { get; init; }
    public required string Action { get; init; }
    public required string ResourceType { get; init; }
    public required string ResourcePath { get; init; }
    public string? Classification { get; init; }
    public required string CredentialId { get; init; }
    public required string TaskId { get; init; }
    public IReadOnlyList<string> TaskChain { get; init; } = [];
    public required string Agent { get; init; }
    public required string Person { get; init; }
    public long PolicyVersion { get; init; }
    public IReadOnlyList<string> Policies { get; init; } = [];
    public DateTimeOffset RequestedAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
    public string? DecidedBy { get; init; }
    public string? Note { get; init; }
    public string? Purpose { get; init; }
    public string? ChainProblem { get; init; }

    /// <summary>The stream's first event: no approval, only "the inbox is live".</summary>
    internal static ApprovalView Ready { get; } = new()
    {
        ApprovalId = "", Status = "", Action = "", ResourceType = "", ResourcePath = "", CredentialId = "", TaskId = "", Agent = "", Person = "",
    };

    public static async Task<ApprovalView> DescribeAsync(ConsoleCaller caller, ApprovalInfo approval, CancellationToken cancellationToken)
    {
        var chain = new List<string>();
        string? purpose = null;
        string? problem = null;
        var id = approval.TaskId;
        // Up the tree to its root (bounded: delegation depth is bounded too), as far as the caller may read.
        for (var hop = 0; id is not null && hop < 32; hop++)
        {
            var task = await caller.Client.GetTaskAsync(id, cancellationToken);
            if (!task.IsSuccess)
            {
                problem = task.Error!.Message;
                chain.Insert(0, id);
                break;
            }
            if (hop == 0)
            {
                purpose = task.Value.Purpose;
            }
            chain.Insert(0, id);
            id = task.Value.ParentTaskId;
        }
        return new ApprovalView
        {
            ApprovalId = approval.ApprovalId,
            Status = approval.Status.ToString(),
            Action = approval.Action,
            ResourceType = approval.Resource.Type,
            ResourcePath = approval.Resource.Path,
            Classification = approval.Resource.Classification.ToString(),
            CredentialId = approval.CredentialId,
            TaskId = approval.TaskId,
            TaskChain = chain,
            Agent = approval.Agent,
            Person = approval.RootPerson,
            PolicyVersion = approval.PolicyVersion,
            Policies = approval.ApprovalPolicies,
            RequestedAt = approval.RequestedAt,
            ExpiresAt = approval.ExpiresAt,
            DecidedBy = approval.DecidedBy,
            Note = approval.Note,
            Purpose = purpose,
            ChainProblem = problem,
        };
    }
}
