using System.Text;
using System.Text.Json;
using GrantSilo.Http;

namespace GrantSilo.Http.Tests;

public sealed class AuthZenReaderTests
{
    private const string Token = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.c2ln";

    public static TheoryData<string> CommonBodies => new()
    {
        $$$"""{"subject":{"type":"credential","id":"{{{Token}}}"},"action":{"name":"read"},"resource":{"type":"doc","id":"reports/q3.md"}}""",
        // Any order, whitespace, escapes in names and values, an empty object.
        $$$"""  { "resource" : { "id" : "a\/b \u00e9", "type" : "doc" } , "action":{"name":"read"}, "subject":{"id":"{{{Token}}}","type":"credential"} }  """,
        $$$"""{"\u0073ubject":{"type":"credential","id":"{{{Token}}}"}}""",
        """{}""",
        """{"subject":{}}""",
        // Flat properties and context of strings.
        $$$"""{"subject":{"type":"credential","id":"{{{Token}}}","properties":{"department":"eng"}},"action":{"name":"read","properties":{"method":"GET"}},"resource":{"type":"doc","id":"x","properties":{"classification":"confidential","environment":"prod"}},"context":{"approval_id":"ap-1","time":"now"}}""",
        """{"resource":{"type":"doc","id":"x","properties":{}},"context":{}}""",
        // Valid JSON that the evaluation then refuses (a wrong subject type, an empty id): read the same either way.
        """{"subject":{"type":"user","id":""},"action":{"name":""},"resource":{"type":"","id":""}}""",
    };

    [Theory]
    [MemberData(nameof(CommonBodies))]
    public void TheCommonShape_IsReadExactlyAsTheSerializerReadsIt(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var fast = AuthZenReader.TryRead(body);
        var strict = JsonSerializer.Deserialize<AuthZenEvaluation>(body, HttpJson.Options);

        Assert.NotNull(fast);
        Assert.NotNull(strict);
        Assert.Equal(JsonSerializer.Serialize(strict, HttpJson.Options), JsonSerializer.Serialize(fast, HttpJson.Options));
        Assert.Equal(strict.Subject?.Id, fast.Subject?.Id);
    }

    public static TheoryData<string> OtherBodies => new()
    {
        // Refused by the strict reading: unknown and repeated members, wrong types, trailing data, comments, bad JSON.
        """{"subject":{"type":"credential","id":"t"},"extra":1}""",
        """{"subject":{"type":"credential","id":"t"},"subject":{"type":"credential","id":"u"}}""",
        """{"subject":{"type":"credential","type":"credential","id":"t"}}""",
        """{"subject":{"type":"credential","id":"t","tenant":"x"}}""",
        """{"Subject":{"type":"credential","id":"t"}}""",
        """{"subject":{"type":5,"id":"t"}}""",
        """{"subject":{"type":"credential","id":"t"}} {}""",
        """{"subject":{"type":"credential","id":"t"}} x""",
        """{"subject":{"type":"credential","id":"t"},}""",
        """{/* c */"subject":{"type":"credential","id":"t"}}""",
        """{"subject":{"type":"credential","id":"t"}""",
        """{"context":{"a":"1","a":"2"}}""",
        """{"resource":{"type":"doc","id":"x","properties":{"p":"1","p":"2"}}}""",
        """{"subject":{"type":"credential","id":"\ud800"}}""",
        "[]",
        "null",
        "\"x\"",
        // Valid for the serializer, but not the common shape: read by the serializer instead.
        """{"subject":null}""",
        """{"subject":{"type":null,"id":"t"}}""",
        """{"context":{"approval_id":7}}""",
        """{"context":{"nested":{"a":"b"}}}""",
        """{"resource":{"type":"doc","id":"x","properties":{"level":3}}}""",
        """{"action":{"name":"read","properties":{"tags":["a"]}}}""",
    };

    [Theory]
    [MemberData(nameof(OtherBodies))]
    public void AnyOtherBody_IsLeftToTheSerializer(string json) =>
        Assert.Null(AuthZenReader.TryRead(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void InvalidUtf8_IsLeftToTheSerializer()
    {
        var body = Encoding.UTF8.GetBytes("""{"subject":{"type":"credential","id":"AB"}}""");
        var id = Array.IndexOf(body, (byte)'A');
        body[id] = 0xC3;
        body[id + 1] = 0x28;
        Assert.Null(AuthZenReader.TryRead(body));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<AuthZenEvaluation>(body, HttpJson.Options));
    }
}
