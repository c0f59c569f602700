using System.Buffers;
using System.Runtime.CompilerServices;

namespace GrantSilo.Client;

/// <summary>
/// The audit log as a stream, on top of <see cref="IGrantClient.QueryAuditAsync"/>: an export of every matching record as
/// stored (JSON lines anyone can verify with the published checkpoint keys), and following the log as records are made.
/// Both need the operator or auditor role; a refusal is thrown as a <see cref="GrantException"/> with its typed error.
/// </summary>
public static class AuditStreams
{
    /// <summary>How often <see cref="FollowAuditAsync"/> asks for new records when it has caught up (default 1 s).</summary>
    public static readonly TimeSpan DefaultFollowInterval = TimeSpan.FromSeconds(1);

    /// <summary>Every record matching <paramref name="query"/>, oldest first, page after page, as stored lines.</summary>
    public static async IAsyncEnumerable<AuditLine> ExportAuditAsync(this IGrantClient client, AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(query);
        InStreamOrder(query);
        var next = query with { PageSize = Page.MaxSize };
        while (true)
        {
            var page = (await client.QueryAuditAsync(next, cancellationToken).ConfigureAwait(false)).Value;
            foreach (var entry in page.Items)
            {
                yield return entry.ToLine();
            }
            if (page.Items.Count == 0 || page.ContinuationToken is null || page.ContinuationToken == next.ContinuationToken)
            {
                yield break;
            }
            next = next with { ContinuationToken = page.ContinuationToken };
        }
    }

    /// <summary>
    /// Writes every record matching <paramref name="query"/> to <paramref name="destination"/> as JSON lines (UTF-8, one
    /// stored line each): an export <c>grantctl audit verify --file</c> or anyone holding the checkpoint keys can verify.
    /// Returns how many lines were written.
    /// </summary>
    public static async Task<long> ExportAuditAsync(this IGrantClient client, AuditQuery query, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var buffer = new ArrayBufferWriter<byte>(4096);
        long written = 0;
        await foreach (var line in client.ExportAuditAsync(query, cancellationToken).ConfigureAwait(false))
        {
            buffer.ResetWrittenCount();
            line.WriteTo(buffer);
            buffer.Write("\n"u8);
            await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            written++;
        }
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        return written;
    }

    /// <summary>
    /// Where the log of records matching <paramref name="query"/> ends now: the continuation token to follow from so that
    /// every record made after this call returns is seen (null when nothing matches yet: then follow from the start).
    /// </summary>
    public static async Task<string?> AuditEndAsync(this IGrantClient client, AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(query);
        InStreamOrder(query);
        var next = query with { PageSize = Page.MaxSize };
        while (true)
        {
            var page = (await client.QueryAuditAsync(next, cancellationToken).ConfigureAwait(false)).Value;
            if (page.Items.Count == 0 || page.ContinuationToken is null || page.ContinuationToken == next.ContinuationToken)
            {
                return page.ContinuationToken ?? next.ContinuationToken;
            }
            next = next with { ContinuationToken = page.ContinuationToken };
        }
    }

    /// <summary>
    /// Follows the audit log: records matching <paramref name="query"/> from its continuation token on (from the start of
    /// the log without one), then as they are made, until cancelled. To follow from now, missing nothing made after it,
    /// start from <see cref="AuditEndAsync"/>. Each entry comes with the token to resume after its page.
    /// </summary>
    public static async IAsyncEnumerable<(AuditEntry Entry, string? ContinuationToken)> FollowAuditAsync(this IGrantClient client, AuditQuery query, TimeSpan? interval = null,
        TimeProvider? time = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(query);
        InStreamOrder(query);
        time ??= TimeProvider.System;
        var next = query with { PageSize = Page.MaxSize };
        while (true)
        {
            var page = (await client.QueryAuditAsync(next, cancellationToken).ConfigureAwait(false)).Value;
            foreach (var entry in page.Items)
            {
                yield return (entry, page.ContinuationToken);
            }
            next = next with { ContinuationToken = page.ContinuationToken ?? next.ContinuationToken };
            if (page.Items.Count == 0)
            {
                await Task.Delay(interval ?? DefaultFollowInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // An export is verified in stream order, and following continues from the log's end: neither reads newest first.
    private static void InStreamOrder(AuditQuery query)
    {
        if (query.Order != AuditOrder.OldestFirst)
        {
            throw new GrantException(new GrantError(GrantErrorCode.InvalidArgument, "An export and following the log are in stream order (AuditOrder.OldestFirst); page newest first with QueryAuditAsync.", target: "order"));
        }
    }

    /// <summary>The stored line of an entry, as an export writes it.</summary>
    public static AuditLine ToLine(this AuditEntry entry) => new()
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
