using CsCheck;

namespace GrantSilo.Abstractions.Tests;

public class ScopeAlgebraTests
{
    [Fact]
    public void IsWithin_IsReflexive() =>
        ScopeGen.Scope.Sample(s => Assert.True(s.IsWithin(s)));

    [Fact]
    public void IsWithin_IsAntisymmetric() =>
        Gen.Select(ScopeGen.Scope, ScopeGen.Scope).Sample((a, b) =>
        {
            if (a.IsWithin(b) && b.IsWithin(a))
            {
                Assert.Equal(a, b);
                Assert.Equal(a.ToString(), b.ToString());
            }
        });

    [Fact]
    public void IsWithin_IsTransitive() =>
        ScopeGen.Scope.SelectMany(a => ScopeGen.NarrowerThan(a).SelectMany(b => ScopeGen.NarrowerThan(b).Select(c => (a, b, c))))
            .Sample(t =>
            {
                Assert.True(t.b.IsWithin(t.a));
                Assert.True(t.c.IsWithin(t.b));
                Assert.True(t.c.IsWithin(t.a));
            });

    [Fact]
    public void IsWithin_AgreesWithEveryConcreteRequest() =>
        Gen.Select(ScopeGen.Scope, ScopeGen.Scope, ScopeGen.Request).Sample((a, b, r) =>
        {
            // Soundness: a scope within another never allows a request the other refuses.
            if (a.IsWithin(b) && ScopeGen.Allows(a, r))
            {
                Assert.True(ScopeGen.Allows(b, r));
            }
        });

    [Fact]
    public void FindExcess_NamesAPermissionWithAWitnessRequest() =>
        Gen.Select(ScopeGen.Scope, ScopeGen.Scope).Sample((a, b) =>
        {
            var excess = a.FindExcess(b);
            if (excess is null || !excess.Contains(':', StringComparison.Ordinal))
            {
                return;
            }
            // Completeness: the excess permission really allows something the other scope refuses.
            var p = Permission.Parse(excess).Value;
            var action = p.Action == "*" ? "action-nobody-lists" : p.Action;
            var path = p.Pattern.IsWildcard ? (p.Pattern.Prefix.Length == 0 ? "" : p.Pattern.Prefix + "/") + "witness" : p.Pattern.Prefix;
            Assert.True(a.Covers(p.ResourceType, action, path));
            Assert.False(b.Covers(p.ResourceType, action, path));
        });

    [Fact]
    public void Intersect_IsTheGreatestLowerBound() =>
        Gen.Select(ScopeGen.Scope, ScopeGen.Scope, ScopeGen.Request).Sample((a, b, r) =>
        {
            var meet = a.Intersect(b);
            Assert.True(meet.IsWithin(a));
            Assert.True(meet.IsWithin(b));
            // Exactly the requests both allow.
            Assert.Equal(ScopeGen.Allows(a, r) && ScopeGen.Allows(b, r), ScopeGen.Allows(meet, r));
        });

    [Fact]
    public void Intersect_ContainsEveryCommonLowerBound() =>
        Gen.Select(ScopeGen.Scope, ScopeGen.Scope).SelectMany((a, b) => ScopeGen.NarrowerThan(a.Intersect(b)).Select(c => (a, b, c)))
            .Sample(t =>
            {
                Assert.True(t.c.IsWithin(t.a) && t.c.IsWithin(t.b));
                Assert.True(t.c.IsWithin(t.a.Intersect(t.b)));
            });

    [Fact]
    public void NoChildEverExceedsItsAncestors_AcrossRandomChains() =>
        ScopeGen.Scope.SelectMany(root => Gen.Int[1, 8].SelectMany(n => Chain(root, n)))
            .Sample(chain =>
            {
                for (var i = 1; i < chain.Count; i++)
                {
                    for (var j = 0; j < i; j++)
                    {
                        Assert.True(chain[i].IsWithin(chain[j]), $"link {i} exceeds link {j}: {chain[i].FindExcess(chain[j])}");
                    }
                }
            });

    private static Gen<List<Scope>> Chain(Scope root, int length) =>
        length == 0
            ? Gen.Const(new List<Scope> { root })
            : ScopeGen.NarrowerThan(root).SelectMany(child => Chain(child, length - 1).Select(rest => { rest.Insert(0, root); return rest; }));

    [Fact]
    public void Canonical_FormIsIndependentOfOrderAndRedundancy() =>
        ScopeGen.Permission.Array[0, 6].Sample(ps =>
        {
            var forward = Scope.Create(ps, DataClassification.Internal, 0).Value;
            var backward = Scope.Create([.. ps.Reverse(), .. ps], DataClassification.Internal, 0).Value;
            Assert.Equal(forward, backward);
            Assert.Equal(forward.GetHashCode(), backward.GetHashCode());
        });

    [Fact]
    public void Scope_RejectsTooManyPermissions()
    {
        var texts = Enumerable.Range(0, Scope.MaxPermissions + 1).Select(i => $"doc:read:p{i}");
        var result = Scope.Create(texts);
        Assert.Equal(GrantErrorCode.ScopeTooLarge, result.Error?.Code);
    }

    [Theory]
    [InlineData("doc:read:a/*", "doc", "read", "a/b", true)]
    [InlineData("doc:read:a/*", "doc", "read", "a/b/c", true)]
    [InlineData("doc:read:a/*", "doc", "read", "a", false)]
    [InlineData("doc:read:a/*", "doc", "read", "ab/c", false)]
    [InlineData("doc:*:a", "doc", "delete", "a", true)]
    [InlineData("doc:read:a", "doc", "write", "a", false)]
    [InlineData("doc:read:*", "repo", "read", "a", false)]
    public void Permission_CoversExactlyWhatItSays(string permission, string type, string action, string path, bool expected) =>
        Assert.Equal(expected, Permission.Parse(permission).Value.Covers(type, action, path));
}
