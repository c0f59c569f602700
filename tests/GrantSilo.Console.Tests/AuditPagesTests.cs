using System.Reflection;
using GrantSilo.Client;
using GrantSilo.Grains.Audit;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// The console's newest records of a query: read newest first, and no further back than the view needs, over a log of
/// 60,000 records in two streams (the audit reader on a memory store, behind a client that counts the pages asked for).
/// </summary>
public sealed class AuditPagesTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly AuditKeys Keys = AuditKeys.Ephemeral();
    private static readonly Lazy<Task<MemoryAuditStore>> Log = new(WriteLogAsync);

    // Stream "a" holds the even seconds, "b" the odd ones; every tenth record is a revocation, and the agent of record i
    // is "agent-{i % 100}".
    private static async Task<MemoryAuditStore> WriteLogAsync()
    {
        var store = new MemoryAuditStore(capacity: 100_000);
        foreach (var (stream, parity) in new[] { ("a", 0), ("b", 1) })
        {
            var (sequence, hash) = (0L, "");
            var lines = new List<AuditLine>();
            for (var i = parity; i < 60_000; i += 2)
            {
                var record = new AuditRecord { Id = $"r{i}", Kind = i % 10 == 0 ? AuditEventKind.CredentialRevoked : AuditEventKind.Decision, At = Start.AddSeconds(i), Agent = $"agent-{i % 100}" };
                var line = AuditChain.Seal(stream, ++sequence, hash, record);
                hash = line.Hash;
                lines.Add(line);
                if (lines.Count == 1000)
                {
                    await store.AppendAsync(stream, lines, CancellationToken.None);
                    lines.Clear();
                }
            }
        }
        return store;
    }

    private static async Task<(IGrantClient Client, Func<int> Pages)> ClientAsync()
    {
        var client = DispatchProxy.Create<IGrantClient, CountingClient>();
        var counting = (CountingClient)(object)client;
        counting.Reader = new AuditReader(await Log.Value, Keys);
        return (client, () => counting.Pages);
    }

    [Fact]
    public async Task NewestAsync_ReadsOnePage_ForTheNewestRecordsOfALargeLog()
    {
        var (client, pages) = await ClientAsync();

        var newest = await AuditPages.NewestAsync(client, new AuditQuery { Kind = AuditEventKind.Decision }, 25, where: null, CancellationToken.None);

        Assert.True(newest.IsSuccess);
        Assert.False(newest.Value.Truncated);
        var expected = Enumerable.Range(0, 60_000).Reverse().Where(i => i % 10 != 0).Take(25).Select(i => $"r{i}");
        Assert.Equal(expected, newest.Value.Records.Select(r => r.Id));
        Assert.Equal(1, pages());
    }

    [Fact]
    public async Task NewestAsync_WithAFilterOfItsOwn_StopsAsSoonAsItHasEnough()
    {
        var (client, pages) = await ClientAsync();

        // One record in a hundred is agent-7's: 50 of them lie in the newest 5,000.
        var newest = await AuditPages.NewestAsync(client, new AuditQuery(), 50, where: r => r.Agent == "agent-7", CancellationToken.None);

        Assert.True(newest.IsSuccess);
        Assert.False(newest.Value.Truncated);
        Assert.Equal(Enumerable.Range(0, 600).Reverse().Select(i => i * 100 + 7).Take(50).Select(i => $"r{i}"), newest.Value.Records.Select(r => r.Id));
        Assert.Equal(5, pages());
    }

    [Fact]
    public async Task NewestAsync_StopsAtMaxPages_WhenItsFilterMatchesTooLittle_AndSaysSo()
    {
        var (client, pages) = await ClientAsync();

        var newest = await AuditPages.NewestAsync(client, new AuditQuery(), 10, where: r => r.Id == "r3", CancellationToken.None);

        Assert.True(newest.IsSuccess);
        Assert.True(newest.Value.Truncated);
        Assert.Empty(newest.Value.Records);
        Assert.Equal(AuditPages.MaxPages, pages());
    }

    /// <summary>An <see cref="IGrantClient"/> that answers audit queries from a reader and counts them; nothing else.</summary>
    public class CountingClient : DispatchProxy
    {
        internal AuditReader Reader { get; set; } = null!;

        internal int Pages { get; private set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(IGrantClient.QueryAuditAsync))
            {
                throw new NotSupportedException(targetMethod?.Name);
            }
            Pages++;
            return Reader.QueryAsync((AuditQuery)args![0]!, (CancellationToken)args[1]!);
        }
    }
}
