using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Tests;

public sealed class JsonTests
{
    [Fact]
    public void ParseEntities_ReadsUidsAttributesParentsAndTags()
    {
        var store = CedarJson.ParseEntities("""
            [
              { "uid": {"type": "User", "id": "alice"},
                "attrs": { "age": 30, "name": "Alice", "admin": false, "big": 9007199254740993,
                           "min": -9223372036854775808, "groups": [1, 1, 2], "manager": {"__entity": {"type": "User", "id": "bob"}},
                           "net": {"__extn": {"fn": "ip", "arg": "10.0.0.0/8"}}, "limit": {"__extn": {"fn": "decimal", "arg": "1.25"}},
                           "at": {"__extn": {"fn": "offset", "args": [{"__extn": {"fn": "datetime", "arg": "1970-01-01"}}, {"__extn": {"fn": "duration", "arg": "1s"}}]}},
                           "rec": {"type": "A", "id": "b"} },
                "parents": [ {"type": "Group", "id": "g"}, {"__entity": {"type": "Group", "id": "h"}} ],
                "tags": { "t": "v" } },
              { "uid": {"__entity": {"type": "Group", "id": "g"}}, "attrs": {}, "parents": [] },
              { "uid": {"type": "Group", "id": "g"}, "attrs": {}, "parents": [] }
            ]
            """);

        Assert.Equal(2, store.Count);
        Assert.True(store.TryGet(new EntityUid("User", "alice"), out var alice));
        Assert.Equal(CedarValue.FromLong(9007199254740993), alice.Attributes["big"]);
        Assert.Equal(CedarValue.FromLong(long.MinValue), alice.Attributes["min"]);
        Assert.Equal(CedarValue.Set(CedarValue.FromLong(1), CedarValue.FromLong(2)), alice.Attributes["groups"]);
        Assert.Equal(new EntityUid("User", "bob"), alice.Attributes["manager"]);
        Assert.Equal(CedarValue.Ip("10.0.0.0/8"), alice.Attributes["net"]);
        Assert.Equal(CedarValue.Decimal("1.25"), alice.Attributes["limit"]);
        Assert.Equal(CedarValue.Datetime(DateTimeOffset.FromUnixTimeMilliseconds(1000)), alice.Attributes["at"]);
        Assert.Equal(CedarType.Record, alice.Attributes["rec"].Kind);
        Assert.Equal(CedarValue.FromString("v"), alice.Tags["t"]);
        Assert.Equal([new EntityUid("Group", "g"), new EntityUid("Group", "h")], alice.Parents);
        Assert.True(store.IsInOrEqual(new EntityUid("User", "alice"), new EntityUid("Group", "h")));
    }

    [Fact]
    public void ParseEntities_WithImplicitEntityReferences_ReadsTypeIdObjectsAsEntities()
    {
        var store = CedarJson.ParseEntities("""[{"uid": {"type": "D", "id": "1"}, "attrs": {"owner": {"type": "U", "id": "a"}}, "parents": []}]""", implicitEntityReferences: true);
        var plain = CedarJson.ParseEntities("""[{"uid": {"type": "D", "id": "1"}, "attrs": {"owner": {"type": "U", "id": "a"}}, "parents": []}]""");
        Assert.True(plain.TryGet(new EntityUid("D", "1"), out var p) && p.Attributes["owner"].Kind == CedarType.Record);

        Assert.True(store.TryGet(new EntityUid("D", "1"), out var d));
        Assert.Equal(new EntityUid("U", "a"), d.Attributes["owner"]);
    }

    [Theory]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": 1.5}, "parents": []}]""", "$[0].attrs.x")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": 9223372036854775808}, "parents": []}]""", "$[0].attrs.x")]
    [InlineData("""[{"uid": {"type": "U"}}]""", "$[0].uid")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": {"__extn": {"fn": "ip", "arg": "nope"}}}, "parents": []}]""", "$[0].attrs.x.__extn")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": {"__extn": {"fn": "nope", "arg": "1"}}}, "parents": []}]""", "$[0].attrs.x.__extn")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": null}, "parents": []}]""", "$[0].attrs.x")]
    [InlineData("""{"uid": {"type": "U", "id": "a"}}""", "$")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "parents": []}]""", "$[0]")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {}}]""", "$[0]")]
    [InlineData("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"x": 1}, "parents": []}, {"uid": {"type": "U", "id": "a"}, "attrs": {"x": 2}, "parents": []}]""", "$[1]")]
    public void ParseEntities_RejectsInvalidInputWithPath(string json, string path)
    {
        var e = Assert.Throws<CedarJsonException>(() => CedarJson.ParseEntities(json));
        Assert.Equal(path, e.JsonPath);
    }

    [Fact]
    public void ParseEntities_MalformedJson_IsACedarJsonException() =>
        Assert.Throws<CedarJsonException>(() => CedarJson.ParseEntities("[{"));

    [Fact]
    public void ParseContext_ReadsARecordAndRejectsNonObjects()
    {
        var context = CedarJson.ParseContext("""{"n": 1, "e": {"__entity": {"type": "U", "id": "x"}}, "r": {"__entity": 1, "other": 2}}""");

        var record = Assert.IsType<RecordValue>(context);
        Assert.Equal(new EntityUid("U", "x"), record.Attributes["e"]);
        Assert.Equal(CedarType.Record, record.Attributes["r"].Kind);
        Assert.Throws<CedarJsonException>(() => CedarJson.ParseContext("[1]"));
    }

    [Fact]
    public void ParseEntityUid_AcceptsBothForms()
    {
        Assert.Equal(new EntityUid("A::B", "x"), CedarJson.ParseEntityUid("""{"type": "A::B", "id": "x"}"""));
        Assert.Equal(new EntityUid("A", "x"), CedarJson.ParseEntityUid("""{"__entity": {"type": "A", "id": "x"}}"""));
    }
}
