using System.Security.Cryptography;
using GrantSilo.Grains.Access;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The limited-door mark (the HTTP API's in-silo calls: its caller's rate was limited already) is kept by target once made,
/// so the door's check in the same process does not compute it again. Kept or not, a mark opens only its own target, is the
/// same HMAC another silo of the cluster computes, is never the internal mark, and a caller cannot change a kept one through
/// the array it was given.
/// </summary>
public sealed class LimitedDoorMarkTests
{
    private static ClusterCallKey Key(string secret) =>
        new(Options.Create(new ClusterCallOptions { CallKey = secret }), NullLogger<ClusterCallKey>.Instance);

    private static GrainId Target(int i) => GrainId.Create("credential", $"c{i}");

    [Fact]
    public void AMark_OpensItsOwnTargetOnly_KeptOrNot_AcrossManyMoreTargetsThanAreKept()
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var key = Key(secret);
        // Another silo of the cluster, which has kept nothing: it checks what this one made, and makes the same marks.
        using var other = Key(secret);
        const int Targets = 10_000;
        var marks = Enumerable.Range(0, Targets).Select(i => key.LimitedDoorMark(Target(i))).ToArray();
        Assert.InRange(key.KeptLimitedDoorMarks, 1, ClusterCallKey.LimitedDoorMarksKept);
        for (var i = 0; i < Targets; i++)
        {
            Assert.True(key.MatchesLimitedDoor(marks[i], Target(i)));
            Assert.True(other.MatchesLimitedDoor(marks[i], Target(i)));
            Assert.False(key.MatchesLimitedDoor(marks[i], Target((i + 1) % Targets)));
            Assert.Equal(marks[i], key.LimitedDoorMark(Target(i)));
        }
        Assert.Equal(marks[42], other.LimitedDoorMark(Target(42)));
        // The door's checks keep nothing: only the side that marks a call does (a client can send any 32 bytes for any target).
        Assert.Equal(1, other.KeptLimitedDoorMarks);
        Assert.InRange(key.KeptLimitedDoorMarks, 1, ClusterCallKey.LimitedDoorMarksKept);
    }

    [Fact]
    public void TheInternalMark_AnotherKeysMark_OrAnythingElse_IsNoLimitedDoorMark()
    {
        using var key = Key(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        using var stranger = Key(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var target = Target(1);
        _ = key.LimitedDoorMark(target);

        Assert.False(key.MatchesLimitedDoor(key.Mark(new GrainIdBytes(target)), target));
        Assert.False(key.MatchesLimitedDoor(stranger.LimitedDoorMark(target), target));
        Assert.False(key.MatchesLimitedDoor(RandomNumberGenerator.GetBytes(32), target));
        Assert.False(key.MatchesLimitedDoor(key.LimitedDoorMark(target)[..31], target));
        Assert.False(key.MatchesLimitedDoor(null, target));
        Assert.False(key.MatchesLimitedDoor(Convert.ToBase64String(key.LimitedDoorMark(target)), target));
    }

    [Fact]
    public void AKeptMark_CannotBeChangedThroughTheArrayItWasGivenIn()
    {
        using var key = Key(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var target = Target(7);
        var given = key.LimitedDoorMark(target);
        var original = given.ToArray();
        given.AsSpan().Clear();

        Assert.False(key.MatchesLimitedDoor(given, target));
        Assert.True(key.MatchesLimitedDoor(original, target));
        Assert.Equal(original, key.LimitedDoorMark(target));
    }
}
