using System.Buffers;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using GrantSilo.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

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

        audit.MapGet("/records", (HttpContext http, CancellationToken _) => Query(http, q => Answer(Client(http).QueryAuditAsync(q, http.RequestAborted)), ordered: true))
            .WithName("QueryAudit")
            .WithSummary("Audit records matching the filters (taskId: the task tree; agent; credentialId; resource, '/*' for below; person; caller; decisionId; kind; from/to: ISO 8601), paged; order=newest for the newest first.")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(OrderParameter);
                return Task.CompletedTask;
            })
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
            .Produces<AuditEntry>(StatusCodes.Status200OK, "text/event-stream").ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status429TooManyRequests)
            // A stream lasts as long as the caller's token, not one request's timeout.
            .DisableRequestTimeout();
    }

    // The order parameter as the OpenAPI document describes it (the filters are read by hand, so it is described by hand).
    private static readonly Microsoft.OpenApi.OpenApiParameter OrderParameter = new()
    {
        Name = "order",
        In = Microsoft.OpenApi.ParameterLocation.Query,
        Required = false,
        Description = "oldest (the default: stream order; the last page's continuationToken is where to follow from) or newest (newest first, every stream read backwards; the last page has no continuationToken). A continuationToken is only valid with the order that gave it.",
        Schema = new Microsoft.OpenApi.OpenApiSchema
        {
            Type = Microsoft.OpenApi.JsonSchemaType.String,
            Enum = [System.Text.Json.Nodes.JsonValue.Create("oldest"), System.Text.Json.Nodes.JsonValue.Create("newest")],
            Default = System.Text.Json.Nodes.JsonValue.Create("oldest"),
        },
    };

    private static IGrantClient Client(HttpContext http) => HttpCaller.Of(http)!.Client(http);

    private static Task<IResult> Answer<T>(Task<GrantResult<T>> call) => ApiEndpoints.Answer(call);

    // The filters of a GET, read from its query string; a malformed one is a 400 naming it. Only a page of records has an
    // order: an export and a live stream are in stream order (an export is verified in it).
    private static async Task<IResult> Query(HttpContext http, Func<AuditQuery, Task<IResult>> run, bool ordered = false)
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
        var order = AuditOrder.OldestFirst;
        if (Text("order") is { } o)
        {
            if (!ordered && !string.Equals(o, "oldest", StringComparison.OrdinalIgnoreCase))
            {
                return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, "'order' is oldest here: an export and a live stream are in stream order."), "order");
            }
            if (string.Equals(o, "newest", StringComparison.OrdinalIgnoreCase))
            {
                order = AuditOrder.NewestFirst;
            }
            else if (!string.Equals(o, "oldest", StringComparison.OrdinalIgnoreCase))
            {
                return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, "'order' is oldest or newest."), "order");
            }
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
            Order = order,
            ContinuationToken = Text("continuationToken") ?? (http.Request.Headers.TryGetValue("Last-Event-ID", out var last) && last.Count > 0 ? last[0] : null),
        }).ConfigureAwait(false);
    }

    // Every matching line, page after page, as stored (the SDK's export).
    private static IResult Export(HttpContext http, AuditQuery query) =>
        TypedResults.Stream(async body =>
        {
            var buffer = new ArrayBufferWriter<byte>(4096);
            try
            {
                await foreach (var line in Client(http).ExportAuditAsync(query, http.RequestAborted).ConfigureAwait(false))
                {
                    buffer.ResetWrittenCount();
                    line.WriteTo(buffer);
                    buffer.Write("\n"u8);
                    await body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (GrantException refused)
            {
                // Headers are sent: the export ends with a line saying why, which a verifier refuses as a record.
                await body.WriteAsync(Encoding.UTF8.GetBytes($"{{\"error\":\"{refused.Error.Code}\"}}\n"), http.RequestAborted).ConfigureAwait(false);
            }
        }, "application/x-ndjson");

    private static async Task<IResult> FollowAsync(HttpContext http, AuditQuery query)
    {
        var caller = HttpCaller.Of(http)!;
        if (http.RequestServices.GetRequiredService<StreamSlots>().TryOpen(http, caller.Caller.Name) is { } tooMany)
        {
            return tooMany;
        }
        var client = caller.Client(http);
        // A missing role or a token that is not the log's is refused before the stream opens; and "from now on" is found
        // before it opens, so every record made once the follower sees the stream open is sent.
        var probe = await client.QueryAuditAsync(query with { PageSize = 1 }, http.RequestAborted).ConfigureAwait(false);
        if (!probe.IsSuccess)
        {
            return Problems.From(probe.Error!);
        }
        if (query.ContinuationToken is null)
        {
            try
            {
                query = query with { ContinuationToken = await client.AuditEndAsync(query, http.RequestAborted).ConfigureAwait(false) };
            }
            catch (GrantException refused)
            {
                return Problems.From(refused.Error);
            }
        }
        var until = caller.Caller.ExpiresAt;
        return TypedResults.Stream(async body =>
        {
            http.Response.Headers.CacheControl = "no-cache";
            // A comment first, flushed: the follower sees the stream open before the first record is written.
            await body.WriteAsync(": following the audit log\n\n"u8.ToArray(), http.RequestAborted).ConfigureAwait(false);
            await body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            // The follower's token ends the stream when it expires (or a little under 50 days on, for a longer-lived one).
            using var expiry = StreamLifetime.Until(until, DateTimeOffset.UtcNow, http.RequestAborted);
            try
            {
                await SseFormatter.WriteAsync(Events(client.FollowAuditAsync(query, FollowInterval, cancellationToken: expiry.Token)), body, WriteEntry, expiry.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or GrantException)
            {
                // The follower left, its token expired, or it may no longer read the log: the stream ends.
            }
        }, "text/event-stream");
    }

    private static async IAsyncEnumerable<SseItem<AuditEntry>> Events(IAsyncEnumerable<(AuditEntry Entry, string? ContinuationToken)> follow)
    {
        await foreach (var (entry, token) in follow.ConfigureAwait(false))
        {
            yield return new SseItem<AuditEntry>(entry, "record") { EventId = token };
        }
    }

    private static void WriteEntry(SseItem<AuditEntry> item, System.Buffers.IBufferWriter<byte> buffer)
    {
        using var writer = new System.Text.Json.Utf8JsonWriter(buffer);
        System.Text.Json.JsonSerializer.Serialize(writer, item.Data, HttpJson.Options);
    }
}
