using System.Diagnostics.CodeAnalysis;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Request = Azure.Core.Request;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>What an injected fault does to a matching request.</summary>
public enum FaultMode
{
    /// <summary>Reply with the status without sending the request: the service never sees it.</summary>
    ReplyWithoutSending,

    /// <summary>Send the request (the service commits it), then replace the real reply with the status: "the reply was lost".</summary>
    SendThenReplaceReply,

    /// <summary>Send the request (the service commits it), then fail as a network timeout would.</summary>
    SendThenTimeout,
}

/// <summary>
/// An Azure.Core pipeline policy, added per retry through <c>TableClientOptions</c>, that injects storage faults into
/// requests that match a rule; each rule fires a limited number of times.
/// </summary>
public sealed class FaultInjectionPolicy : HttpPipelinePolicy
{
    private readonly List<Rule> _rules = [];
    private readonly List<string> _log = [];

    /// <summary>Gets how many faults were injected.</summary>
    public int InjectedCount
    {
        get
        {
            lock (_rules)
            {
                return _log.Count;
            }
        }
    }

    /// <summary>Gets how many requests matched <paramref name="match"/> while passing through (faulted or not).</summary>
    public int SeenCount(Func<Request, bool> match)
    {
        lock (_rules)
        {
            return _seen.Count(match);
        }
    }

    private readonly List<Request> _seen = [];
    private readonly List<Hook> _hooks = [];

    /// <summary>Adds a rule: the next <paramref name="times"/> requests that match get the fault.</summary>
    public FaultInjectionPolicy Inject(Func<Request, bool> match, FaultMode mode, int status, int times = 1, string? errorCode = null)
    {
        lock (_rules)
        {
            _rules.Add(new Rule(match, mode, status, errorCode) { Remaining = times });
        }

        return this;
    }

    /// <summary>Runs <paramref name="action"/> before the next <paramref name="times"/> matching requests are sent, for example to race a concurrent change in.</summary>
    public FaultInjectionPolicy BeforeSending(Func<Request, bool> match, Func<Task> action, int times = 1)
    {
        lock (_rules)
        {
            _hooks.Add(new Hook(match, action) { Remaining = times });
        }

        return this;
    }

    /// <summary>Removes every rule.</summary>
    public void Clear()
    {
        lock (_rules)
        {
            _rules.Clear();
        }
    }

    /// <inheritdoc/>
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        => ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Hook? hook;
        lock (_rules)
        {
            hook = _hooks.FirstOrDefault(h => h.Remaining > 0 && h.Match(message.Request));
            if (hook is not null)
            {
                hook.Remaining--;
            }
        }

        if (hook is not null)
        {
            await hook.Action().ConfigureAwait(false);
        }

        var rule = Take(message.Request);
        if (rule is null)
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            return;
        }

        if (rule.Mode != FaultMode.ReplyWithoutSending)
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            message.Response.Dispose();
        }

        if (rule.Mode == FaultMode.SendThenTimeout)
        {
            throw new TaskCanceledException("Injected fault: the request was sent but its reply timed out.", new TimeoutException());
        }

        message.Response = new InjectedResponse(rule.Status, rule.ErrorCode ?? DefaultErrorCode(rule.Status), message.Request.ClientRequestId);
    }

    private Rule? Take(Request request)
    {
        lock (_rules)
        {
            _seen.Add(request);
            foreach (var rule in _rules)
            {
                if (rule.Remaining > 0 && rule.Match(request))
                {
                    rule.Remaining--;
                    _log.Add($"{request.Method} {request.Uri} -> {rule.Mode} {rule.Status}");
                    return rule;
                }
            }

            return null;
        }
    }

    private static string DefaultErrorCode(int status) => status switch
    {
        409 => "EntityAlreadyExists",
        412 => "UpdateConditionNotSatisfied",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServerBusy",
        _ => "InjectedFault",
    };

    private sealed record Rule(Func<Request, bool> Match, FaultMode Mode, int Status, string? ErrorCode)
    {
        public int Remaining { get; set; }
    }

    private sealed record Hook(Func<Request, bool> Match, Func<Task> Action)
    {
        public int Remaining { get; set; }
    }

    private sealed class InjectedResponse : Response
    {
        private readonly Dictionary<string, string> _headers;

        public InjectedResponse(int status, string errorCode, string clientRequestId)
        {
            Status = status;
            ClientRequestId = clientRequestId;
            _headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["x-ms-error-code"] = errorCode,
                ["Content-Type"] = "application/json",
            };
            var body = $"{{\"odata.error\":{{\"code\":\"{errorCode}\",\"message\":{{\"lang\":\"en-US\",\"value\":\"Injected fault {status}\"}}}}}}";
            ContentStream = new MemoryStream(Encoding.UTF8.GetBytes(body));
        }

        public override int Status { get; }

        public override string ReasonPhrase => "Injected fault";

        public override bool IsError => Status >= 400;

        public override Stream? ContentStream { get; set; }

        public override string ClientRequestId { get; set; }

        public override void Dispose()
        {
        }

        protected override bool ContainsHeader(string name) => _headers.ContainsKey(name);

        protected override IEnumerable<HttpHeader> EnumerateHeaders() => _headers.Select(h => new HttpHeader(h.Key, h.Value));

        protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value) => _headers.TryGetValue(name, out value);

        protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
        {
            var found = _headers.TryGetValue(name, out var value);
            values = found ? [value!] : null;
            return found;
        }
    }
}

/// <summary>Request matchers for Azure Table operations.</summary>
public static class TableRequests
{
    /// <summary>Inserting an entity (POST to the table).</summary>
    public static Func<Request, bool> Insert(string table) => r => r.Method == RequestMethod.Post && Path(r).EndsWith("/" + table, StringComparison.Ordinal);

    /// <summary>Replacing or merging an entity (PUT or MERGE/PATCH on an entity address).</summary>
    public static Func<Request, bool> Update(string table) => r => (r.Method == RequestMethod.Put || r.Method == RequestMethod.Patch || r.Method.Method == "MERGE") && Path(r).Contains("/" + table + "(", StringComparison.Ordinal);

    /// <summary>Deleting an entity.</summary>
    public static Func<Request, bool> Delete(string table) => r => r.Method == RequestMethod.Delete && Path(r).Contains("/" + table + "(", StringComparison.Ordinal);

    /// <summary>An entity group transaction.</summary>
    public static Func<Request, bool> Batch() => r => r.Method == RequestMethod.Post && Path(r).EndsWith("/$batch", StringComparison.Ordinal);

    /// <summary>A query that continues from an earlier page.</summary>
    public static Func<Request, bool> NextPage() => r => r.Method == RequestMethod.Get && r.Uri.ToUri().Query.Contains("NextRowKey", StringComparison.Ordinal);

    /// <summary>Any read of entities (GET on the table).</summary>
    public static Func<Request, bool> Read(string table) => r => r.Method == RequestMethod.Get && Path(r).Contains("/" + table, StringComparison.Ordinal);

    /// <summary>Any write to the table's entities (insert, update, delete or transaction).</summary>
    public static Func<Request, bool> AnyWrite(string table)
        => r => Insert(table)(r) || Update(table)(r) || Delete(table)(r) || Batch()(r);

    private static string Path(Request request) => Uri.UnescapeDataString(request.Uri.ToUri().AbsolutePath);
}
