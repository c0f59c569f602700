using System.Net;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// <c>POST /v1/policies/validate</c>: the checks of a publish, without the publish. A refused draft gets the very problem
/// publishing it would get (code, detail code, position); a good one gets what it holds; no version is stored either way.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpPolicyValidateTests(HttpSilo silo)
{
    private string Author() => silo.Identity.PersonToken($"pat-{Guid.NewGuid():N}@test.dev", "policy-author");

    private async Task<int> VersionCountAsync() =>
        (await silo.SendAsync(HttpMethod.Get, "/v1/policies/versions", silo.Operator())).Json.GetArrayLength();

    private async Task<string> ActiveTextAsync() =>
        (await silo.SendAsync(HttpMethod.Get, "/v1/policies/active", silo.Operator()))["text"]!;

    [Theory]
    [InlineData("permit(principal, action, resource\n", "PolicyInvalid")]
    [InlineData("permit(principal, action == Action::\"no-such-action\", resource);\n", "UnrecognizedActionId")]
    public async Task AnInvalidDraft_GetsTheProblemPublishingWouldGet_AndNothingIsStored(string addition, string expected)
    {
        var author = Author();
        var draft = await ActiveTextAsync() + "\n" + addition;
        var before = await VersionCountAsync();

        var validated = await silo.SendAsync(HttpMethod.Post, "/v1/policies/validate", author, new { text = draft });
        Assert.True(validated.Status == HttpStatusCode.BadRequest, validated.ToString());
        Assert.Equal("application/problem+json", validated.MediaType);
        Assert.Contains(expected, validated.Text, StringComparison.Ordinal);
        var position = validated.Json.GetProperty("position");
        Assert.True(position.GetProperty("line").GetInt32() > 1, validated.ToString());
        Assert.Equal(before, await VersionCountAsync());

        // The same draft published is refused with the same problem: validation is the publish's own checks.
        var published = await silo.SendAsync(HttpMethod.Post, "/v1/policies", author, new { text = draft });
        Assert.Equal(validated.Status, published.Status);
        foreach (var field in new[] { "code", "detailCode", "detail", "position" })
        {
            Assert.Equal(validated[field], published[field]);
        }
        Assert.Equal(before, await VersionCountAsync());
    }

    [Fact]
    public async Task AValidDraft_AnswersWhatItHolds_WithoutPublishingAVersion()
    {
        var draft = await ActiveTextAsync() + "\n@id(\"validate-only\")\nforbid(principal, action, resource) when { false };\n";
        var before = await VersionCountAsync();

        var validated = await silo.SendAsync(HttpMethod.Post, "/v1/policies/validate", Author(), new { text = draft });
        Assert.True(validated.Status == HttpStatusCode.OK, validated.ToString());
        Assert.Contains("validate-only", validated.Json.GetProperty("policyIds").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(64, validated["sha256"]!.Length);
        Assert.True(validated.Json.TryGetProperty("schemaVersion", out _));
        Assert.Equal(before, await VersionCountAsync());
        Assert.DoesNotContain("validate-only", await ActiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validating_NeedsThePolicyAuthorsRight()
    {
        var approver = silo.Identity.PersonToken($"abe-{Guid.NewGuid():N}@test.dev", "approver");
        var refused = await silo.SendAsync(HttpMethod.Post, "/v1/policies/validate", approver, new { text = await ActiveTextAsync() });
        Assert.True(refused.Status == HttpStatusCode.Forbidden, refused.ToString());
        var anonymous = await silo.SendAsync(HttpMethod.Post, "/v1/policies/validate", null, new { text = "permit(principal, action, resource);" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
    }
}
