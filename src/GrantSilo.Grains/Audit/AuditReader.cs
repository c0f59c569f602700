using System.Text;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// Reads the audit log: queries (paged, in stream order or newest first), the lineage of a decision, and verification of every stream.
/// Queries scan the streams; the continuation token is where the scan stopped, so the last page's token is also where
/// to follow from.
/// </summary>
/// <param name="store">The store read.</param>
/// <param name="keys">The keys whose public halves verify checkpoints and retention cuts.</param>
/// <param name="journal">
/// This silo's journal, if it has one: its own stream may lack a checkpoint while its first write (which carries one) is
/// under way. Every other stream without a checkpoint is reported as <see cref="AuditBreakKind.UnsignedStream"/>.
/// </param>
public sealed class AuditReader(IAuditStore store, AuditKeys keys, AuditJournal? journal = null)
{
    /// <summary>The most lines one page scans before it returns (with a continuation token) however few it found.</summary>
    public const int MaxScannedPerPage = 100_000;

    /// <summary>One page of the records matching <paramref name="query"/>.</summary>
    public async Task<GrantResult<Page<AuditEntry>>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var size = Page.Size(query.PageSize);
        if (!size.IsSuccess)
        {
            return size.Error;
        }
        var filter = Filter.Compile(query, keys);
        if (!filter.IsSuccess)
        {
            return filter.Error;
        }
        if (query.Order == AuditOrder.NewestFirst)
        {
            var from = NewestCursor.Parse(query.ContinuationToken);
            if (!from.IsSuccess)
            {
                return from.Error;
            }
            var (newest, after) = await ScanNewestAsync(filter.Value, size.Value, from.Value, cancellationToken).ConfigureAwait(false);
            return new Page<AuditEntry> { Items = newest, ContinuationToken = after };
        }
        if (query.Order != AuditOrder.OldestFirst)
        {
            return GrantResult<Page<AuditEntry>>.Fail(GrantErrorCode.InvalidArgument, $"The order is oldest or newest; it is {(int)query.Order}.", target: "order");
        }
        var start = Cursor.Parse(query.ContinuationToken);
        if (!start.IsSuccess)
        {
            return start.Error;
        }
        var (items, next) = await ScanAsync(filter.Value, size.Value, start.Value, cancellationToken).ConfigureAwait(false);
        return new Page<AuditEntry> { Items = items, ContinuationToken = next };
    }

    /// <summary>A decision and the lifecycle records of everything it rested on.</summary>
    public async Task<GrantResult<AuditLineage>> LineageAsync(string decisionId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(decisionId) || decisionId.Length > 64)
        {
            return GrantResult<AuditLineage>.Fail(GrantErrorCode.InvalidArgument, "A decision id is required (1-64 characters).", target: "decisionId");
        }
        var found = await ScanAsync(new Filter { DecisionId = decisionId }, 1, Cursor.Start, cancellationToken, toEnd: true).ConfigureAwait(false);
        if (found.Items.FirstOrDefault(e => e.Record.Kind == AuditEventKind.Decision) is not { } decision)
        {
            return GrantResult<AuditLineage>.Fail(GrantErrorCode.AuditRecordNotFound, $"No decision '{Untrusted.Id(decisionId)}' is in the audit log.", target: decisionId);
        }
        var r = decision.Record;
        var chain = r.TaskChain.ToHashSet(StringComparer.Ordinal);
        var related = new List<AuditEntry>();
        foreach (var stream in await store.ListStreamsAsync(cancellationToken).ConfigureAwait(false))
        {
            await foreach (var line in store.ReadAsync(stream, 1, cancellationToken).ConfigureAwait(false))
            {
                if (line.ToEntry() is not { } entry || entry.Record.Kind is AuditEventKind.Decision or AuditEventKind.Checkpoint)
                {
                    continue;
                }
                var e = entry.Record;
                var relevant = e.Kind switch
                {
                    >= AuditEventKind.TaskCreated and <= AuditEventKind.TaskExpired => e.TaskId is { } t && chain.Contains(t),
                    >= AuditEventKind.AgentRegistered and <= AuditEventKind.AgentRetired => e.Agent is { } a && a == r.Agent,
                    >= AuditEventKind.SessionOpened and <= AuditEventKind.SessionEnded => e.SessionId is { } s && s == r.SessionId,
                    >= AuditEventKind.CredentialIssued and <= AuditEventKind.CredentialExpired => e.CredentialId is { } c && c == r.CredentialId,
                    >= AuditEventKind.ApprovalRequested and <= AuditEventKind.ApprovalTimedOut => e.ApprovalId is { } p && p == r.ApprovalId,
                    AuditEventKind.DecisionWithdrawn => e.CauseId == decisionId,
                    _ => false,
                };
                if (relevant)
                {
                    related.Add(entry);
                }
            }
        }
        return new AuditLineage { Decision = decision, Related = [.. related.OrderBy(e => e.Record.At)] };
    }

    /// <summary>
    /// Verifies every stream; reports the first break, the last signed checkpoint, and per stream how many records follow
    /// its last checkpoint unsigned.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        var verifier = new AuditChainVerifier(AuditChain.Import(keys.Published), journal is { AwaitingFirstCheckpoint: true } ? journal.Stream : null);
        foreach (var stream in await store.ListStreamsAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await foreach (var line in store.ReadAsync(stream, 1, cancellationToken).ConfigureAwait(false))
                {
                    verifier.Add(line);
                    if (verifier.IsBroken)
                    {
                        return verifier.Result();
                    }
                }
            }
            catch (AuditStoreException e) when (e.Unreadable)
            {
                verifier.Unreadable(stream, e.Message);
                return verifier.Result();
            }
            // Every checkpoint kept aside must still be in the stream, unless a signed retention cut removed it (an empty
            // stream whose checkpoints are kept had everything removed).
            foreach (var checkpoint in await store.ReadCheckpointsAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                verifier.AddKeptCheckpoint(checkpoint);
            }
            if (verifier.IsBroken)
            {
                break;
            }
        }
        return verifier.Result();
    }

    private async Task<(List<AuditEntry> Items, string? Next)> ScanAsync(Filter filter, int size, Cursor start, CancellationToken cancellationToken, bool toEnd = false)
    {
        var items = new List<AuditEntry>(Math.Min(size, 256));
        var scanned = 0;
        var streams = await store.ListStreamsAsync(cancellationToken).ConfigureAwait(false);
        Cursor? last = null;
        foreach (var stream in streams)
        {
            if (start.Stream is { } from && string.CompareOrdinal(stream, from) < 0)
            {
                continue;
            }
            var fromSequence = start.Stream == stream ? start.Sequence : 1;
            last = new Cursor(stream, fromSequence);
            await foreach (var line in store.ReadAsync(stream, fromSequence, cancellationToken).ConfigureAwait(false))
            {
                last = new Cursor(stream, line.Sequence + 1);
                if (line.ToEntry() is { } entry && filter.Matches(entry.Record))
                {
                    items.Add(entry);
                    if (items.Count == size && !toEnd)
                    {
                        return (items, last.Value.ToToken());
                    }
                }
                if (++scanned >= MaxScannedPerPage && !toEnd)
                {
                    return (items, last.Value.ToToken());
                }
            }
        }
        return (items, last?.ToToken() ?? start.ToToken());
    }

    // Newest first: every stream read backwards from where the cursor left it, merged by record time (latest first; a tie
    // goes to the stream later in name order, the reverse of stream order). Each store reads only as far back as the page
    // needs. The cursor keeps, per stream with lines left, the place of the next line to give; streams made after the
    // first page (all newer than it) and streams read to their start are not in it.
    private async Task<(List<AuditEntry> Items, string? Next)> ScanNewestAsync(Filter filter, int size, NewestCursor start, CancellationToken cancellationToken)
    {
        var items = new List<AuditEntry>(Math.Min(size, 256));
        IEnumerable<KeyValuePair<string, long>> places = start.Places
            ?? (await store.ListStreamsAsync(cancellationToken).ConfigureAwait(false)).Select(s => KeyValuePair.Create(s, long.MaxValue));
        var heads = new List<Head>();
        try
        {
            foreach (var (stream, place) in places)
            {
                var head = new Head(stream, store.ReadBackwardAsync(stream, place, cancellationToken).GetAsyncEnumerator(cancellationToken));
                heads.Add(head);
                await head.MoveNextAsync().ConfigureAwait(false);
            }
            var scanned = 0;
            while (items.Count < size && scanned < MaxScannedPerPage)
            {
                Head? latest = null;
                foreach (var head in heads)
                {
                    if (head.Line is not null && (latest is null || head.At > latest.At || (head.At == latest.At && string.CompareOrdinal(head.Stream, latest.Stream) > 0)))
                    {
                        latest = head;
                    }
                }
                if (latest is null)
                {
                    break;
                }
                if (latest.Entry is { } entry && filter.Matches(entry.Record))
                {
                    items.Add(entry);
                }
                scanned++;
                await latest.MoveNextAsync().ConfigureAwait(false);
            }
            var left = heads.Where(h => h.Line is not null).Select(h => KeyValuePair.Create(h.Stream, h.Line!.Sequence)).ToList();
            return (items, left.Count == 0 ? null : NewestCursor.ToToken(left));
        }
        finally
        {
            foreach (var head in heads)
            {
                await head.Reader.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // A stream's next line going backwards, read ahead by one.
    private sealed class Head(string stream, IAsyncEnumerator<AuditLine> reader)
    {
        public string Stream { get; } = stream;
        public IAsyncEnumerator<AuditLine> Reader { get; } = reader;
        public AuditLine? Line { get; private set; }
        public AuditEntry? Entry { get; private set; }

        // A line whose record cannot be read (given to no one) goes first, so it never holds the others back.
        public DateTimeOffset At => Entry?.Record.At ?? DateTimeOffset.MaxValue;

        public async Task MoveNextAsync()
        {
            Line = await Reader.MoveNextAsync().ConfigureAwait(false) ? Reader.Current : null;
            Entry = Line?.ToEntry();
        }
    }

    // Where a newest-first scan continues: per stream, the place of the next line to give (at or before it). Tokens
    // start "n1", the oldest-first ones "a1", so neither order takes the other's.
    private readonly record struct NewestCursor(IReadOnlyList<KeyValuePair<string, long>>? Places)
    {
        private const string Version = "n1";

        public static string ToToken(IEnumerable<KeyValuePair<string, long>> places) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('|', places.Select(p => $"{p.Key}={p.Value}").Prepend(Version))));

        public static GrantResult<NewestCursor> Parse(string? token)
        {
            if (string.IsNullOrEmpty(token))
            {
                return new NewestCursor(null);
            }
            try
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
                if (parts[0] == Version)
                {
                    var places = new List<KeyValuePair<string, long>>(parts.Length - 1);
                    foreach (var part in parts.Skip(1))
                    {
                        if (part.Split('=') is not [var stream, var sequence] || !AuditStreams.IsValidName(stream)
                            || !long.TryParse(sequence, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var place) || place < 1
                            || places.Exists(p => p.Key == stream))
                        {
                            return Refused();
                        }
                        places.Add(KeyValuePair.Create(stream, place));
                    }
                    return new NewestCursor(places);
                }
            }
            catch (FormatException)
            {
            }
            return Refused();
        }

        private static GrantResult<NewestCursor> Refused() =>
            GrantResult<NewestCursor>.Fail(GrantErrorCode.InvalidArgument, "The continuation token is not one this audit log gave for a newest-first query.", target: "continuationToken");
    }

    // Where a scan continues: a stream and the next sequence in it.
    private readonly record struct Cursor(string? Stream, long Sequence)
    {
        public static readonly Cursor Start = new(null, 1);

        public string ToToken() => Convert.ToBase64String(Encoding.UTF8.GetBytes($"a1|{Stream}|{Sequence}"));

        public static GrantResult<Cursor> Parse(string? token)
        {
            if (string.IsNullOrEmpty(token))
            {
                return Start;
            }
            try
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
                if (parts is ["a1", var stream, var sequence] && (stream.Length == 0 || AuditStreams.IsValidName(stream)) && long.TryParse(sequence, out var next) && next >= 1)
                {
                    return new Cursor(stream.Length == 0 ? null : stream, next);
                }
            }
            catch (FormatException)
            {
            }
            return GrantResult<Cursor>.Fail(GrantErrorCode.InvalidArgument, "The continuation token is not one this audit log gave.", target: "continuationToken");
        }
    }

    private sealed class Filter
    {
        public string? TaskId { get; init; }
        public string? Agent { get; init; }
        public string? CredentialId { get; init; }
        public string? TokenHash { get; init; }
        public string? Resource { get; init; }
        public bool ResourcePrefix { get; init; }
        public string? Person { get; init; }
        public string? Caller { get; init; }
        public string? DecisionId { get; init; }
        public AuditEventKind? Kind { get; init; }
        public DateTimeOffset? From { get; init; }
        public DateTimeOffset? To { get; init; }

        public static GrantResult<Filter> Compile(AuditQuery query, AuditKeys keys)
        {
            string? tokenHash = null;
            if (query.Token is { } token)
            {
                if (!CredentialToken.TryParse(token, out _, out var secret))
                {
                    return GrantResult<Filter>.Fail(GrantErrorCode.InvalidArgument, "The token is not a GrantSilo credential token.", target: "token");
                }
                tokenHash = keys.TokenHash(secret);
            }
            foreach (var (value, name) in new[] { (query.TaskId, "taskId"), (query.Agent, "agent"), (query.CredentialId, "credentialId"), (query.Resource, "resource"), (query.Person, "person"), (query.Caller, "caller"), (query.DecisionId, "decisionId") })
            {
                if (value is { Length: 0 or > 1024 })
                {
                    return GrantResult<Filter>.Fail(GrantErrorCode.InvalidArgument, $"The {name} filter is 1-1024 characters.", target: name);
                }
            }
            if (query.From is { } from && query.To is { } to && to <= from)
            {
                return GrantResult<Filter>.Fail(GrantErrorCode.InvalidArgument, "The time window ends before it begins.", target: "to");
            }
            var prefix = query.Resource?.EndsWith("/*", StringComparison.Ordinal) ?? false;
            return new Filter
            {
                TaskId = query.TaskId,
                Agent = query.Agent,
                CredentialId = query.CredentialId,
                TokenHash = tokenHash,
                Resource = prefix ? query.Resource![..^1] : query.Resource,
                ResourcePrefix = prefix,
                Person = query.Person,
                Caller = query.Caller,
                DecisionId = query.DecisionId,
                Kind = query.Kind,
                From = query.From,
                To = query.To,
            };
        }

        public bool Matches(AuditRecord r) =>
            (TaskId is null || r.TaskId == TaskId || r.TaskChain.Contains(TaskId, StringComparer.Ordinal))
            && (Agent is null || r.Agent == Agent)
            && (CredentialId is null || r.CredentialId == CredentialId)
            && (TokenHash is null || r.TokenHash == TokenHash)
            && (Resource is null || (ResourcePrefix ? r.ResourcePath?.StartsWith(Resource, StringComparison.Ordinal) ?? false : r.ResourcePath == Resource))
            && (Person is null || r.RootPerson == Person)
            && (Caller is null || r.CallerName == Caller || r.CallerSubject == Caller)
            && (DecisionId is null || r.Id == DecisionId || r.CauseId == DecisionId)
            && (Kind is null || r.Kind == Kind)
            && (From is null || r.At >= From)
            && (To is null || r.At < To);
    }
}
