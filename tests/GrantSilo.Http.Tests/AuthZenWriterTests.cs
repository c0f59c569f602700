using System.Buffers;
using System.Text;
using System.Text.Json;
using GrantSilo.Http;
using Microsoft.AspNetCore.Http;

namespace GrantSilo.Http.Tests;

public sealed class AuthZenWriterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<Decision> Decisions => new()
    {
        new Decision
        {
            Kind = DecisionKind.Allow, Reason = DecisionReason.Allowed, DecidedAt = Now, PolicyVersion = 3, DeterminingPolicies = ["p1", "p<2>"],
            CredentialId = "c-1", TaskId = "t-1", Agent = "spiffe://x/y", CatalogVersion = 2, DecisionId = "01J+d",
        },
        new Decision { Kind = DecisionKind.StepUpRequired, Reason = DecisionReason.StepUpRequired, ApprovalId = "ap-1", DecidedAt = Now, Detail = "Needs \"approval\" & a person: é" },
        Decision.Deny(DecisionReason.ScopeDoesNotCover, "no", Now),
        Decision.Deny(DecisionReason.InvalidSecret, "bad eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJqdGkiOiIke0NyZWRlbnRpYWxUb2tlbi5OZXdDcmVkZW50aWFsSWQoKX0ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU", Now),
        Decision.Deny(DecisionReason.CredentialExpired, new string('x', 400), Now),
        new Decision { Kind = DecisionKind.Allow, Reason = DecisionReason.Error, DecidedAt = Now, Detail = "" },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void TheAnswer_IsByteForByteTheSerializedMapping(Decision decision)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            AuthZenWriter.Write(writer, decision);
        }
        Assert.Equal(JsonSerializer.Serialize(AuthZenEndpoints.Map(decision), HttpJson.Options), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void EveryReason_IsNamedAsTheMappingNamesIt()
    {
        foreach (var reason in Enum.GetValues<DecisionReason>())
        {
            var decision = Decision.Deny(reason, "", Now);
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                AuthZenWriter.Write(writer, decision);
            }
            Assert.Equal(JsonSerializer.Serialize(AuthZenEndpoints.Map(decision), HttpJson.Options), Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }

    [Fact]
    public async Task TheResult_WritesTheWholeAnswerWithItsLength()
    {
        var decision = new Decision { Kind = DecisionKind.Allow, Reason = DecisionReason.Allowed, DecidedAt = Now, DecisionId = "d-1" };
        var http = new DefaultHttpContext();
        using var body = new MemoryStream();
        http.Response.Body = body;

        await AuthZenWriter.Result(decision).ExecuteAsync(http);
        await http.Response.BodyWriter.FlushAsync();

        var expected = JsonSerializer.Serialize(AuthZenEndpoints.Map(decision), HttpJson.Options);
        Assert.Equal(StatusCodes.Status200OK, http.Response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", http.Response.ContentType);
        Assert.Equal(Encoding.UTF8.GetByteCount(expected), http.Response.ContentLength);
        Assert.Equal(expected, Encoding.UTF8.GetString(body.ToArray()));
    }
}
