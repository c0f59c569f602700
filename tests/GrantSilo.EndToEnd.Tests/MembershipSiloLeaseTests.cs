using System.Net;
using GrantSilo.Grains.Fencing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>The silo lease's rules, on a fake clock and a fake membership table.</summary>
public sealed class MembershipSiloLeaseTests
{
    private static readonly SiloAddress Self = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private static readonly SiloLeaseTiming Timing = new(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(16));

    [Fact]
    public void Lease_IsInvalidUntilMembershipIsFirstConfirmed()
    {
        var (lease, _, _) = Create();

        Assert.False(lease.IsValid(out var reason));
        Assert.Contains("not confirmed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lease_IsValidForItsDurationAfterAnActiveRowIsRead_ThenLapses()
    {
        var (lease, table, clock) = Create();
        table.Status = SiloStatus.Active;

        Assert.True(await lease.RenewAsync(CancellationToken.None));
        clock.Advance(Timing.Duration - TimeSpan.FromMilliseconds(1));
        Assert.True(lease.IsValid(out _));
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.False(lease.IsValid(out var reason));
        Assert.Contains("last confirmed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lease_CountsFromWhenTheReadStarted_NotWhenItsReplyArrived()
    {
        var (lease, table, clock) = Create();
        table.Status = SiloStatus.Active;
        var reply = new TaskCompletionSource();
        table.Delay = reply.Task;

        var renewal = lease.RenewAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(900));
        reply.SetResult();
        Assert.True(await renewal);

        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.False(lease.IsValid(out _));
    }

    [Fact]
    public async Task Lease_IsVoidForGoodOnceTheRowSaysDead()
    {
        var (lease, table, _) = Create();
        table.Status = SiloStatus.Active;
        Assert.True(await lease.RenewAsync(CancellationToken.None));
        table.Status = SiloStatus.Dead;

        Assert.False(await lease.RenewAsync(CancellationToken.None));
        Assert.False(lease.IsValid(out var reason));
        Assert.Contains("dead", reason, StringComparison.Ordinal);
        table.Status = SiloStatus.Active;
        Assert.False(lease.IsValid(out _));
    }

    [Theory]
    [InlineData(SiloStatus.Joining)]
    [InlineData(SiloStatus.ShuttingDown)]
    [InlineData(SiloStatus.None)]
    public async Task Lease_IsNotRenewedByARowThatIsNotActive(SiloStatus status)
    {
        var (lease, table, _) = Create();
        table.Status = status;

        Assert.False(await lease.RenewAsync(CancellationToken.None));
        Assert.False(lease.IsValid(out _));
    }

    [Fact]
    public void Timing_IsShorterThanTheFastestDeathDeclaration_AndTheDirectoryHoldOutlastsIt()
    {
        var membership = new ClusterMembershipOptions { ProbeTimeout = TimeSpan.FromSeconds(5), NumMissedProbesLimit = 3 };

        var timing = SiloLeaseTiming.From(membership, new SiloLeaseOptions());

        Assert.Equal(TimeSpan.FromSeconds(7.5), timing.FastestDeathDeclaration);
        Assert.True(timing.Duration < timing.FastestDeathDeclaration);
        Assert.True(timing.RenewInterval < timing.Duration);
        Assert.True(timing.DirectoryHoldAfterDeclaration(timing.RequiredRangeLeaseDuration) > timing.Duration);
        Assert.Equal(TimeSpan.Zero, timing.DirectoryHoldAfterDeclaration(GrainDirectoryOptions.DEFAULT_RANGE_LEASE_DURATION));
    }

    [Fact]
    public void Timing_RefusesALeaseAsLongAsTheFastestDeathDeclaration()
    {
        var membership = new ClusterMembershipOptions { ProbeTimeout = TimeSpan.FromSeconds(2), NumMissedProbesLimit = 2 };

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => SiloLeaseTiming.From(membership, new SiloLeaseOptions { Duration = TimeSpan.FromSeconds(2) }));

        Assert.Contains("GrantSilo:Lease:Duration", error.Message, StringComparison.Ordinal);
    }

    private static (MembershipSiloLease Lease, FakeMembershipTable Table, FakeTimeProvider Clock) Create()
    {
        var table = new FakeMembershipTable();
        var clock = new FakeTimeProvider();
        return (new MembershipSiloLease(table, new FakeSiloDetails(), Timing, clock, NullLogger<MembershipSiloLease>.Instance), table, clock);
    }

    private sealed class FakeSiloDetails : ILocalSiloDetails
    {
        public string Name => "self";

        public string ClusterId => "test";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress => Self;

        public SiloAddress GatewayAddress => Self;
    }

    private sealed class FakeMembershipTable : IMembershipTable
    {
        public SiloStatus Status { get; set; } = SiloStatus.None;

        public Task Delay { get; set; } = Task.CompletedTask;

        public async Task<MembershipTableData> ReadRow(SiloAddress key)
        {
            // The status is read when the storage answers, as a real table would.
            await Delay;
            var version = new TableVersion(1, "1");
            return Status == SiloStatus.None
                ? new MembershipTableData(version)
                : new MembershipTableData(Tuple.Create(new MembershipEntry { SiloAddress = key, Status = Status }, "etag"), version);
        }

        public Task InitializeMembershipTable(bool tryInitTableVersion) => throw new NotSupportedException();

        public Task DeleteMembershipTableEntries(string clusterId) => throw new NotSupportedException();

        public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => throw new NotSupportedException();

        public Task<MembershipTableData> ReadAll() => throw new NotSupportedException();

        public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => throw new NotSupportedException();

        public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => throw new NotSupportedException();

        public Task UpdateIAmAlive(MembershipEntry entry) => throw new NotSupportedException();
    }
}
