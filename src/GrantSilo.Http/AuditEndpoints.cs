using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using GrantSilo.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GrantSilo.Http;

/// <summary>
/// The <c>/v1/audit</c> endpoints (docs/audit.md): queries, the lineage of a decision, verification, the checkpoint keys, a
/// JSON-lines export and a live stream. Every one is the <c>audit.read</c> operation (operators and auditors by the shipped
/// access rules), judged at the same door as the SDK's.
/// </summary>
internal static class AuditEndpoints
{
    /// <summary>How often a live stream asks for new records.</summary>
    public static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    public static void Map(IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/v1/audit").WithTags("Audit").AddEndpointFilter(HttpCaller.Require).RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);

        audit.MapGet("/records", (HttpContext http, CancellationToken _) => Query(http, q => Answer(Client(http).QueryAuditAsync(q, http.RequestAborted))))
            .WithName("QueryAudit")
            .WithSummary("Audit records matching the filters (taskId: the task tree; agent; credentialId; resource, '/*' for below; person; caller; decisionId; kind; from/to: ISO 8601), paged.")
            .Produces<Page<AuditEntry>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapPost("/records/search", (HttpContext http, CancellationToken _) => ApiEndpoints.WithBody<AuditQuery>(http, (client, query, ct) => Answer(client.QueryAuditAsync(query, ct))))
            .WithName("SearchAudit")
            .WithSummary("The same query as a body: the way to find the records of a credential token you hold (token), which never goes in a URL.")
            .Accepts<AuditQuery>("application/json").Produces<Page<AuditEntry>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/decisions/{decisionId}/lineage", (HttpContext http, string decisionId) => Answer(Client(http).GetAuditLineageAsync(decisionId, http.RequestAborted)))
            .WithName("AuditLineage")
            .WithSummary("A decision and what it rested on: person, orchestrator, task chain, agent, session, credential, approval, and how each ended.")
            .Produces<AuditLineage>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/verify", (HttpContext http, CancellationToken _) => Answer(Client(http).VerifyAuditAsync(http.RequestAborted)))
            .WithName("VerifyAudit")
            .WithSummary("Verifies every stream's hash chain and signed checkpoints: the first broken link, and the last signed checkpoint.")
            .Produces<AuditVerification>().ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/keys", (HttpContext http, CancellationToken _) => Answer(Client(http).GetAuditKeysAsync(http.RequestAborted)))
            .WithName("AuditKeys")
            .WithSummary("The public keys that sign checkpoints (PEM), for verifying an export anywhere.")
            .Produces<IReadOnlyList<AuditSigningKey>>().ProducesProblem(StatusCodes.Status403Forbidden);
        audit.MapGet("/export", (HttpContext http, CancellationToken _) => Query(http, q => Task.FromResult(Export(http, q))))
            .WithName("ExportAudit")
            .WithSummary("The matching records as JSON lines, exactly as stored (hash, link, signature): verifiable with the published keys. Without filters, the whole log.")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson").ProducesProblem(StatusCodes.Status403Forbidden)
            .DisableRequestTimeout();
        audit.MapGet("/stream", (HttpContext http, CancellationToken _) => Query(http, q => FollowAsync(http, q)))
            .WithName("FollowAudit")
            .WithSummary("New matching records as server-sent events ('record', id = the continuation token after it), until the caller's token expires. Pass continuationToken (or Last-Event-ID) to resume.")
            .Produces<AuditEntry>(StatusCodes.Status200OK, "text/event-stream").ProducesProblem(StatusCodes.Status403Forbidden)
            // A stream lasts as long as the caller's token, not one request's timeout.
            .DisableRequestTimeout();
    }

    private static IGrantClient Client(HttpContext http) => HttpCaller.Of(http)!.Client(http);

    private static Task<IResult> Answer<T>(Task<GrantResult<T>> call) => ApiEndpoints.Answer(call);

    // The filters of a GET, read from its query string; a malformed one is a 400 naming it.
    private static async Task<IResult> Query(HttpContext http, Func<AuditQuery, Task<IResult>> run)
    {
        var q = http.Request.Query;
        string? Text(string name) => q.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;
        foreach (var name in new[] { "from", "to" })
        {
            if (Text(name) is { } value && !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
            {
                return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, $"'{name}' is an ISO 8601 instant (2026-11-26T17:00:00Z)."), name);
            }
        }
        AuditEventKind? kind = null;
        if (Text("kind") is { } k)
        {
            if (!Enum.TryParse<AuditEventKind>(k, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(k, out _))
            {
                return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, $"'kind' is one of {string.Join(", ", Enum.GetNames<AuditEventKind>().Skip(1))}."), "kind");
            }
            kind = parsed;
        }
        int? size = null;
        if (Text("pageSize") is { } s)
        {
            if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, "'pageSize' is a whole number."), "pageSize");
            }
            size = parsed;
        }
        return await run(new AuditQuery
        {
            TaskId = Text("taskId"),
            Agent = Text("agent"),
            CredentialId = Text("credentialId"),
            Resource = Text("resource"),
            Person = Text("person"),
            Caller = Text("caller"),
            DecisionId = Text("decisionId"),
            Kind = kind,
            From = Text("from") is { } from ? DateTimeOffset.Parse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null,
            To = Text("to") is { } to ? DateTimeOffset.Parse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null,
            PageSize = size,
            ContinuationToken = Text("continuationToken") ?? (http.Request.Headers.TryGetValue("Last-Event-ID", out var last) && last.Count > 0 ? last[0] : null),
        }).ConfigureAwait(false);
    }

    // Every matching line, page after page, as stored.
    private static IResult Export(HttpContext http, AuditQuery query) =>
        TypedResults.Stream(async body =>
        {
            var client = Client(http);
            var next = query with { PageSize = Page.MaxSize, ContinuationToken = query.ContinuationToken };
            while (true)
            {
                var page = await client.QueryAuditAsync(next, http.RequestAborted).ConfigureAwait(false);
                if (!page.IsSuccess)
                {
                    // Headers are sent: the export ends with a line saying why, which a verifier refuses as a record.
                    await body.WriteAsync(Encoding.UTF8.GetBytes($"{{\"error\":\"{page.Error!.Code}\"}}\n"), http.RequestAborted).ConfigureAwait(false);
                    return;
                }
                foreach (var entry in page.Value.Items)
                {
                    await body.WriteAsync(Encoding.UTF8.GetBytes(Line(entry).ToJson() + "\n"), http.RequestAborted).ConfigureAwait(false);
                }
                if (page.Value.Items.Count == 0 || page.Value.ContinuationToken is null || page.Value.ContinuationToken == next.ContinuationToken)
                {
                    return;
                }
                next = next with { ContinuationToken = page.Value.ContinuationToken };
            }
        }, "application/x-ndjson");

    private static async Task<IResult> FollowAsync(HttpContext http, AuditQuery query)
    {
        var client = Client(http);
        var start = query;
        if (query.ContinuationToken is null)
        {
            // From now on: find where the log ends (the last page's token), then send what comes after it.
            var next = query with { PageSize = Page.MaxSize };
            while (true)
            {
                var page = await client.QueryAuditAsync(next, http.RequestAborted).ConfigureAwait(false);
                if (!page.IsSuccess)
                {
                    return Problems.From(page.Error!);
                }
                if (page.Value.Items.Count == 0 || page.Value.ContinuationToken == next.ContinuationToken)
                {
                    start = query with { ContinuationToken = page.Value.ContinuationToken };
                    break;
                }
                next = next with { ContinuationToken = page.Value.ContinuationToken };
            }
        }
        else
        {
            var probe = await client.QueryAuditAsync(query with { PageSize = 1 }, http.RequestAborted).ConfigureAwait(false);
            if (!probe.IsSuccess)
            {
                return Problems.From(probe.Error!);
            }
        }
        var events = Follow(client, start, HttpCaller.Of(http)!.Caller.ExpiresAt, http.RequestAborted);
        return TypedResults.Stream(async body =>
        {
            http.Response.Headers.CacheControl = "no-cache";
            // A comment first, flushed: the follower sees the stream open before the first record is written.
            await body.WriteAsync(": following the audit log\n\n"u8.ToArray(), http.RequestAborted).ConfigureAwait(false);
            await body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            try
            {
                await SseFormatter.WriteAsync(events, body, WriteEntry, http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The follower left.
            }
        }, "text/event-stream");
    }

    private static async IAsyncEnumerable<SseItem<AuditEntry>> Follow(IGrantClient client, AuditQuery first, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = until - DateTimeOffset.UtcNow;
        expiry.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        using var timer = new PeriodicTimer(FollowInterval);
        var next = first with { PageSize = Page.MaxSize };
        while (true)
        {
            GrantResult<Page<AuditEntry>> page;
            try
            {
                page = await client.QueryAuditAsync(next, expiry.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            if (page.IsSuccess)
            {
                foreach (var entry in page.Value.Items)
                {
                    yield return new SseItem<AuditEntry>(entry, "record") { EventId = page.Value.ContinuationToken };
                }
                next = next with { ContinuationToken = page.Value.ContinuationToken ?? next.ContinuationToken };
                if (page.Value.Items.Count > 0)
                {
                    continue;
                }
            }
            try
            {
                if (!await timer.WaitForNextTickAsync(expiry.Token).ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (OperationCanceledException)
            {
                // The caller left, or its token expired: the stream ends.
                yield break;
            }
        }
    }

    private static void WriteEntry(SseItem<AuditEntry> item, System.Buffers.IBufferWriter<byte> buffer)
    {
        using var writer = new System.Text.Json.Utf8JsonWriter(buffer);
        System.Text.Json.JsonSerializer.Serialize(writer, item.Data, HttpJson.Options);
    }

    private static AuditLine Line(AuditEntry entry) => new()
    {
        Stream = entry.Stream,
        Sequence = entry.Sequence,
        PreviousHash = entry.PreviousHash,
        Hash = entry.Hash,
        Body = entry.Body,
        Signature = entry.Signature,
        KeyId = entry.KeyId,
    };
}
