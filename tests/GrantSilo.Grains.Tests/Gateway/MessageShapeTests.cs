using System.Buffers;
using System.Text;
using CsCheck;
using GrantSilo.Grains.Gateway;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GrantSilo.Grains.Tests.Gateway;

/// <summary>
/// The wire walker the gateway guard runs on every frame a client sends: what Orleans' own serializer writes passes
/// within the bound, one level more is refused, and malformed or random bytes are refused with a typed reason, never an
/// exception.
/// </summary>
public class MessageShapeTests
{
    private const int Bound = 64;
    private static readonly ServiceProvider Services = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(Scope).Assembly))
        .BuildServiceProvider();
    private static readonly Serializer Orleans = Services.GetRequiredService<Serializer>();

    // As a message body is written: one field carrying the value's concrete type.
    private static ReadOnlySequence<byte> Body(object value) => new(Orleans.SerializeToArray<object>(value));

    private static object NestedArrays(int levels)
    {
        object value = 7;
        for (var i = 0; i < levels; i++)
        {
            value = new object[] { value, "x" };
        }
        return value;
    }

    private static object NestedTuples(int levels)
    {
        object value = 7;
        for (var i = 0; i < levels; i++)
        {
            value = Tuple.Create(value);
        }
        return value;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(Bound)]
    public void NestedObjectArrays_AtTheBound_AreAccepted_AndOneLevelMoreIsRefused(int levels)
    {
        var body = Body(NestedArrays(levels));

        Assert.Equal(ShapeCheck.Accepted, MessageShape.CheckFields(body, maxDepth: levels));
        Assert.Equal(ShapeRefusal.TooDeep, MessageShape.CheckFields(body, maxDepth: levels - 1).Refusal);
    }

    [Fact]
    public void ObjectArrays_OneLevelDeeperThanTheBound_AreRefused()
    {
        Assert.True(MessageShape.CheckFields(Body(NestedArrays(Bound)), Bound).IsAccepted);
        Assert.Equal(ShapeRefusal.TooDeep, MessageShape.CheckFields(Body(NestedArrays(Bound + 1)), Bound).Refusal);
    }

    [Fact]
    public void Tuples_AtTheBound_AreAccepted_AndOneLevelMoreIsRefused()
    {
        Assert.True(MessageShape.CheckFields(Body(NestedTuples(Bound)), Bound).IsAccepted);
        Assert.Equal(ShapeRefusal.TooDeep, MessageShape.CheckFields(Body(NestedTuples(Bound + 1)), Bound).Refusal);
    }

    [Fact]
    public void TheReviewersMessage_AHundredKilobytesOfNestedArrays_IsRefused_WithoutRecursion()
    {
        // The builder repeats Orleans' own bytes for one level; Orleans reads a shallow one back as that many levels.
        Assert.Equal(10, NestedMessages.Deserializes(Orleans, NestedMessages.NestedObjectArrays(Orleans, 10)));
        Assert.True(MessageShape.CheckFields(new(NestedMessages.NestedObjectArrays(Orleans, Bound)), Bound).IsAccepted);

        // About 100 KB: tens of thousands of levels, far past a thread's stack in Orleans' reader.
        var body = NestedMessages.NestedObjectArrays(Orleans, 25_000);
        Assert.InRange(body.Length, 90_000, 200_000);
        Assert.Equal(ShapeRefusal.TooDeep, MessageShape.CheckFields(new(body), Bound).Refusal);
    }

    [Fact]
    public void GrantSiloRequests_AreAcceptedFarBelowTheBound()
    {
        var scope = Scope.Create(["doc:read:reports/*", "doc:write:drafts/*"], DataClassification.Confidential, 2).Value;
        object[] requests =
        [
            new CreateTaskRequest { Person = "alice", Agent = "spiffe://acme.dev/agent/planner", Scope = scope, Lifetime = TimeSpan.FromMinutes(5), Purpose = "([" },
            new DelegationRequest { ProofToken = "t", Lifetime = TimeSpan.FromMinutes(1), Agent = "spiffe://acme.dev/agent/worker", Scope = scope },
            new ResourceRef { Type = "doc", Path = "reports/q1", Attributes = new Dictionary<string, string> { ["owner"] = "alice", ["team"] = "finance" } },
            GrantResult<Scope>.Ok(scope),
        ];
        foreach (var request in requests)
        {
            Assert.True(MessageShape.CheckFields(Body(request), maxDepth: 16).IsAccepted, request.GetType().Name);
        }
    }

    [Fact]
    public void EveryStrictPrefixOfAMessage_IsRefusedAsTruncated()
    {
        var whole = Orleans.SerializeToArray<object>(new object[] { NestedTuples(5), "text", 12345678901L, 3.5, new byte[40], Guid.NewGuid() });
        Assert.True(MessageShape.CheckFields(new(whole), Bound).IsAccepted);
        for (var length = 1; length < whole.Length; length++)
        {
            var check = MessageShape.CheckFields(new(whole.AsMemory(0, length)), Bound);
            Assert.Equal(ShapeRefusal.Truncated, check.Refusal);
            Assert.InRange(check.Position, 0, length);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0b1010_0000 }, (int)ShapeRefusal.UnknownWireType)] // wire type 5 is not defined
    [InlineData(new byte[] { 0b1111_0000 }, (int)ShapeRefusal.UnknownWireType)] // an extended tag Orleans does not define
    [InlineData(new byte[] { 0b0010_0000, 0b1111_0001 }, (int)ShapeRefusal.UnknownWireType)]
    [InlineData(new byte[] { 0b1110_0000 }, (int)ShapeRefusal.UnbalancedEnd)] // end of an object never opened
    [InlineData(new byte[] { 0b0010_0000 }, (int)ShapeRefusal.Truncated)] // an object never closed
    [InlineData(new byte[] { 0b0100_0000, 0b0000_1001 }, (int)ShapeRefusal.Truncated)] // 4 bytes promised, none sent
    [InlineData(new byte[] { 0b0110_0000, 1, 2 }, (int)ShapeRefusal.Truncated)] // fixed 32 bits cut short
    [InlineData(new byte[] { 0b0100_0000, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ShapeRefusal.BadVarInt)] // a length longer than 5 bytes
    [InlineData(new byte[] { 0b0000_0000, 0, 0 }, (int)ShapeRefusal.BadVarInt)] // a varint longer than 10 bytes
    [InlineData(new byte[] { 0b0001_0000, 2, 0, 0, 0, 0, 1, 0b0000_0000 }, (int)ShapeRefusal.UnknownTypeEncoding)] // encoded type, version 2
    public void MalformedFields_AreRefusedWithTheirReason(byte[] bytes, int expected)
    {
        Assert.Equal((ShapeRefusal)expected, MessageShape.CheckFields(new(bytes), Bound).Refusal);
    }

    [Fact]
    public void ATypeNameNestingCompoundAliasesDeeperThanTheBound_IsRefused()
    {
        var deep = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("([", Bound + 1)));
        var shallow = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("([a])", 1000)));

        Assert.Equal(ShapeRefusal.TypeNameTooDeep, MessageShape.CheckFields(Body(Encoding.UTF8.GetString(deep)), Bound).Refusal);
        Assert.True(MessageShape.CheckFields(Body(Encoding.UTF8.GetString(shallow)), Bound).IsAccepted);
        // In a field header's encoded type too: version 1, a hash, the name's length and the name.
        var field = new List<byte> { 0b0001_0000, 1, 0, 0, 0, 0 };
        field.AddRange(VarUInt32((uint)deep.Length));
        field.AddRange(deep);
        field.Add(0b0000_0001);
        Assert.Equal(ShapeRefusal.TypeNameTooDeep, MessageShape.CheckFields(new([.. field]), Bound).Refusal);
    }

    [Fact]
    public void AHeader_IsWalkedThroughToItsRequestContext()
    {
        var shallow = Header(Orleans.SerializeToArray<object>(NestedArrays(3)));
        var deep = Header(Orleans.SerializeToArray<object>(NestedArrays(Bound + 1)));

        Assert.True(MessageShape.CheckHeader(new(shallow), Bound).IsAccepted);
        Assert.Equal(ShapeRefusal.TooDeep, MessageShape.CheckHeader(new(deep), Bound).Refusal);
        Assert.Equal(ShapeRefusal.Truncated, MessageShape.CheckHeader(new(shallow.AsMemory(0, shallow.Length - 1)), Bound).Refusal);
    }

    [Fact]
    public void WhatOrleansWrites_ForRandomNestedValuesWithinTheBound_IsAccepted()
    {
        Value(depth: Bound / 2).Sample(value =>
        {
            var bytes = Orleans.SerializeToArray<object>(value);
            var check = MessageShape.CheckFields(new(bytes), Bound);
            Assert.True(check.IsAccepted, $"{check.Refusal} at {check.Position}");
        }, iter: 300);
    }

    [Fact]
    public void RandomBytes_AreNeverAnException_OnlyAVerdict()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            _ = MessageShape.CheckFields(new(bytes), 8);
            _ = MessageShape.CheckHeader(new(bytes), 8);
        }, iter: 20_000);
        // Orleans' bytes with one byte changed: the walker still answers.
        var whole = Orleans.SerializeToArray<object>(new object[] { NestedTuples(6), "text", new byte[20] });
        Gen.Select(Gen.Int[0, whole.Length - 1], Gen.Byte).Sample((at, value) =>
        {
            var changed = (byte[])whole.Clone();
            changed[at] = value;
            _ = MessageShape.CheckFields(new(changed), 4);
        }, iter: 5_000);
    }

    // Random values Orleans serializes as nested objects: arrays, lists, tuples and records around numbers and strings.
    private static Gen<object> Value(int depth)
    {
        var leaf = Gen.OneOf<object>(Gen.Int.Select(i => (object)i), Gen.String.Select(s => (object)s), Gen.Double.Select(d => (object)d), Gen.Const<object>(Guid.Empty));
        if (depth <= 1)
        {
            return leaf;
        }
        var inner = Value(depth - 1);
        return Gen.Frequency(
            (2, leaf),
            (2, inner.Array[0, 3].Select(a => (object)a)),
            (1, inner.List[0, 2].Select(l => (object)l)),
            (1, inner.Select(v => (object)Tuple.Create(v, 1))),
            (1, inner.Select(v => (object)new KeyValuePair<string, object>("k", v))));
    }

    // A client message header: flags (request context only), correlation id, four empty id spans, two absent silo
    // addresses, and one request context entry ("k" → the value).
    private static byte[] Header(byte[] contextValue)
    {
        var header = new List<byte> { 1 << 4, 0, 0, 0 };
        header.AddRange(new byte[8]);
        header.AddRange([1, 1, 1, 1, 1, 1]);
        header.AddRange(VarUInt32(1));
        header.AddRange(VarUInt32(2));
        header.Add((byte)'k');
        header.AddRange(contextValue);
        return [.. header];
    }

    private static byte[] VarUInt32(uint value)
    {
        // Orleans' prefix varint: n bytes carry (value << n) | (1 << (n - 1)).
        var count = 1;
        while (count < 5 && value >= 1u << (7 * count))
        {
            count++;
        }
        var raw = ((ulong)value << count) | (1UL << (count - 1));
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            bytes[i] = (byte)(raw >> (8 * i));
        }
        return bytes;
    }
}
