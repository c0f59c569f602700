using System.Net;
using System.Text;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// Bad input over HTTP: each gets a problem response naming what is wrong (never a 500, never a stack trace, never the
/// token it carried), and the host stays healthy.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpBadInputTests(HttpSilo silo)
{
    private static void AssertProblem(HttpAnswer answer, HttpStatusCode status, string type)
    {
        Assert.True(answer.Status == status, answer.ToString());
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.Equal(type, answer["type"]);
        Assert.Equal((int)status, answer.Json.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", answer.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", answer.Text, StringComparison.Ordinal);
    }

    private async Task AssertStillHealthyAsync()
    {
        var ready = await silo.SendAsync(HttpMethod.Get, "/health/ready", null);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("ready", ready["status"]);
    }

    private string Agent() => $"spiffe://e2e.dev/{Guid.NewGuid():N}/agent";

    private static string Register(string agent, string depth = "0", string extra = "") =>
        $$"""{"workloadId":"{{agent}}","owner":"person:ops@test.dev","ceiling":{"permissions":["repo:read:acme/*"],"maxClassification":"internal","delegationDepth":{{depth}}}{{extra}}}""";

    [Fact]
    public async Task MalformedJson_IsInvalidJsonNamingWhere()
    {
        var answer = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), """{"workloadId": "spiffe://e2e.dev/x/y", "owner": """);
        AssertProblem(answer, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        Assert.NotNull(answer["field"]);
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task WrongContentType_Is415()
    {
        var answer = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent()), "text/plain");
        AssertProblem(answer, HttpStatusCode.UnsupportedMediaType, "urn:grantsilo:problem:unsupported-media-type");
        var form = await silo.SendRawAsync(HttpMethod.Post, "/access/v1/evaluation", silo.Operator(), "subject=x", "application/x-www-form-urlencoded");
        AssertProblem(form, HttpStatusCode.UnsupportedMediaType, "urn:grantsilo:problem:unsupported-media-type");
    }

    [Fact]
    public async Task OversizedBody_Is413_WithALengthAndChunked()
    {
        var huge = Register(Agent(), extra: $",\"displayName\":\"{new string('a', HttpSilo.MaxBody)}\"");
        AssertProblem(await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), huge), HttpStatusCode.RequestEntityTooLarge, "urn:grantsilo:problem:body-too-large");

        // Without a Content-Length the body is counted as it arrives. The silo answers as soon as the limit is passed and
        // closes the connection, which a client still sending may see as a reset rather than the answer: every answer
        // that does arrive must be the 413, and one must arrive within a few tries.
        var answered = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 5 && answered.Count == 0; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/agents", UriKind.Relative))
            {
                Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))),
            };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TransferEncodingChunked = true;
            request.Headers.Authorization = new("Bearer", silo.Operator());
            try
            {
                using var response = await silo.Http.SendAsync(request);
                answered.Add(response.StatusCode);
            }
            catch (HttpRequestException)
            {
                // Reset while sending: try again.
            }
        }
        Assert.NotEmpty(answered);
        Assert.All(answered, status => Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status));
        await AssertStillHealthyAsync();
    }

    [Theory]
    [InlineData("/oauth2/introspect")]
    [InlineData("/oauth2/token")]
    [InlineData("/oauth2/revoke")]
    public async Task OversizedFormBody_Is413_WithALengthAndChunked(string path)
    {
        var caller = silo.Identity.ServiceToken($"gw-{Guid.NewGuid():N}", "gateway");
        var huge = $"token={new string('a', HttpSilo.MaxBody)}&token_type_hint=access_token";
        AssertProblem(await silo.SendRawAsync(HttpMethod.Post, path, caller, huge, "application/x-www-form-urlencoded"), HttpStatusCode.RequestEntityTooLarge, "urn:grantsilo:problem:body-too-large");

        // Counted as it arrives without a Content-Length: every answer that arrives is the 413 (a client still sending
        // may see the connection reset instead), and one arrives within a few tries.
        var answered = new List<HttpAnswer>();
        for (var attempt = 0; attempt < 5 && answered.Count == 0; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
            {
                Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))),
            };
            request.Content.Headers.ContentType = new("application/x-www-form-urlencoded");
            request.Headers.TransferEncodingChunked = true;
            request.Headers.Authorization = new("Bearer", caller);
            try
            {
                using var response = await silo.Http.SendAsync(request);
                answered.Add(new HttpAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType, response.Headers));
            }
            catch (HttpRequestException)
            {
                // Reset while sending: try again.
            }
        }
        Assert.NotEmpty(answered);
        Assert.All(answered, answer => AssertProblem(answer, HttpStatusCode.RequestEntityTooLarge, "urn:grantsilo:problem:body-too-large"));
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task UnknownAndRepeatedMembers_AreRefusedNamingTheField()
    {
        var unknown = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent(), extra: ",\"isAdmin\":true"));
        AssertProblem(unknown, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        Assert.Contains("isAdmin", answerField(unknown), StringComparison.Ordinal);

        var nested = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent()).Replace("\"delegationDepth\":0", "\"delegationDepth\":0,\"mayDelegate\":true", StringComparison.Ordinal));
        AssertProblem(nested, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");

        var repeated = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks/t-1/revoke", silo.Operator(), """{"reason":"a","reason":"b"}""");
        AssertProblem(repeated, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");

        // A member whose name is a token is refused without repeating it.
        var token = silo.Identity.PersonToken("someone@test.dev", "operator");
        var secretName = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks/t-1/revoke", silo.Operator(), $$"""{"reason":"a","{{token}}":1}""");
        AssertProblem(secretName, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        Assert.DoesNotContain(token, secretName.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(token[..40], secretName.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(token, silo.Output, StringComparison.Ordinal);

        static string answerField(HttpAnswer answer) => answer["field"] + " " + answer["detail"];
    }

    [Fact]
    public async Task HugeNumbers_NullsAndWrongTypes_AreRefused()
    {
        foreach (var depth in new[] { "123456789012345678901234567890", "1e400", "-1.5", "\"3\"" })
        {
            var answer = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent(), depth));
            AssertProblem(answer, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
            Assert.Contains("delegationDepth", answer["field"] ?? "", StringComparison.Ordinal);
        }
        var hugeLifetime = await silo.SendRawAsync(HttpMethod.Post, "/v1/sessions", silo.Operator(), """{"agent":"spiffe://e2e.dev/x/y","idleTimeout":"99999999.00:00:00"}""");
        AssertProblem(hugeLifetime, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var nullRequired = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks/t-1/revoke", silo.Operator(), """{"reason":null}""");
        AssertProblem(nullRequired, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var missing = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks/t-1/revoke", silo.Operator(), "{}");
        AssertProblem(missing, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var notAnObject = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks/t-1/revoke", silo.Operator(), "null");
        AssertProblem(notAnObject, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var enumAsNumber = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent()).Replace("\"internal\"", "3", StringComparison.Ordinal));
        AssertProblem(enumAsNumber, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var pageSize = await silo.SendAsync(HttpMethod.Get, "/v1/tasks/t-1/credentials?pageSize=99999999999999999999", silo.Operator());
        Assert.Equal(HttpStatusCode.BadRequest, pageSize.Status);
        Assert.Equal("application/problem+json", pageSize.MediaType);
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task DeepNesting_IsRefused()
    {
        var depth = 200;
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        var evaluation = $$"""{"subject":{"type":"credential","id":"x"},"action":{"name":"read"},"resource":{"type":"repo","id":"a"},"context":{{deep}}}""";
        AssertProblem(await silo.SendRawAsync(HttpMethod.Post, "/access/v1/evaluation", silo.Operator(), evaluation), HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        var arrays = new string('[', 5000) + new string(']', 5000);
        AssertProblem(await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), arrays), HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-json");
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task InvalidScope_IsItsTypedProblem_NamingThePermission()
    {
        var answer = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(Agent()).Replace("repo:read:acme/*", "repo:read", StringComparison.Ordinal));
        AssertProblem(answer, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-scope");
        Assert.Equal("InvalidScope", answer["code"]);
        Assert.Equal("repo:read", answer["permission"]);
        Assert.Contains("ceiling", answer["field"] ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValuesGrantSiloRefuses_NameTheBodyMemberAtFault()
    {
        // Refused past the body reader (by the SDK or a grain), each validation problem still names the member.
        var agent = Agent();
        Assert.Equal(HttpStatusCode.Created, (await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(agent))).Status);
        var orchestrator = silo.Identity.ServiceToken($"orchestrator-{Guid.NewGuid():N}", "orchestrator");
        var task = $$"""{"person":"person:bob@test.dev","agent":"{{agent}}","scope":{"permissions":["repo:read:acme/*"],"maxClassification":"internal","delegationDepth":0},"lifetime":"LIFETIME"}""";

        var zero = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks", orchestrator, task.Replace("LIFETIME", "00:00:00", StringComparison.Ordinal));
        Assert.True(zero.Status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, zero.ToString());
        Assert.Equal("LifetimeInvalid", zero["code"]);
        Assert.Equal("$.lifetime", zero["field"]);

        var person = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks", orchestrator, task.Replace("LIFETIME", "00:10:00", StringComparison.Ordinal).Replace("\"person:bob@test.dev\"", "\" person:bob@test.dev\"", StringComparison.Ordinal));
        Assert.True(person.Status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, person.ToString());
        Assert.Equal("InvalidIdentifier", person["code"]);
        Assert.Equal("$.person", person["field"]);

        var created = await silo.SendRawAsync(HttpMethod.Post, "/v1/tasks", orchestrator, task.Replace("LIFETIME", "00:10:00", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var resource = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = created["taskId"], resource = "not a resource indicator" });
        Assert.True(resource.Status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, resource.ToString());
        Assert.Equal("$.resource", resource["field"]);
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task AnAgentIdTooLongForItsDurableWakeUp_IsInvalidIdentifier()
    {
        var prefix = $"spiffe://e2e.dev/{Guid.NewGuid():N}/";
        var tooLong = prefix + new string('w', WorkloadId.MaxRegisteredLength + 1 - prefix.Length);

        var answer = await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(tooLong));

        AssertProblem(answer, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-identifier");
        Assert.Contains($"at most {WorkloadId.MaxRegisteredLength} characters", answer["detail"] ?? "", StringComparison.Ordinal);
        var longest = tooLong[..^1];
        Assert.Equal(HttpStatusCode.Created, (await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), Register(longest))).Status);
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task TokensWhereIdsBelong_AreRefusedAndNeverRepeated()
    {
        // A GrantSilo credential token passed as an id.
        var run = Guid.NewGuid().ToString("N")[..10];
        var agent = $"spiffe://e2e.dev/{run}/holder";
        var operatorToken = silo.Operator();
        Assert.Equal(HttpStatusCode.Created, (await silo.SendRawAsync(HttpMethod.Post, "/v1/agents", operatorToken, Register(agent))).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = "person:bob@test.dev", agent, scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 }, lifetime = "00:05:00" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] });
        var token = credential["token"]!;
        var answer = await silo.SendAsync(HttpMethod.Get, $"/v1/credentials/{Uri.EscapeDataString(token)}", operatorToken);
        AssertProblem(answer, HttpStatusCode.BadRequest, "urn:grantsilo:problem:invalid-identifier");
        Assert.DoesNotContain(token, answer.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(token, silo.Output, StringComparison.Ordinal);

        // A bearer token that does not verify is 401, and never repeated either.
        var forged = silo.Identity.PersonToken("eve@test.dev", "operator")[..^4] + "AAAA";
        var refused = await silo.SendAsync(HttpMethod.Get, "/v1/cascades/pending", forged);
        AssertProblem(refused, HttpStatusCode.Unauthorized, "urn:grantsilo:problem:unauthenticated");
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.DoesNotContain(forged, refused.Text, StringComparison.Ordinal);
        // The refusal is logged with the route and what failed, never with the token or the path it came on.
        await Eventually.HoldsAsync(() => Task.FromResult(silo.Output.Contains("Refused GET /v1/cascades/pending from 127.0.0.1: unauthenticated caller (BadSignature", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "the refusal logged");
        Assert.DoesNotContain(forged, silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(token), silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthZenEvaluation_WithoutAVerifiedCaller_Is401BeforeItsBodyIsRead()
    {
        // The single evaluation checks its caller itself (no endpoint filter): first, so neither a body nor a token in it
        // is looked at for a caller who is not authenticated, and the refusal is the same 401 as every other route's.
        var evaluation = """{"subject":{"type":"credential","id":"x"},"action":{"name":"read"},"resource":{"type":"doc","id":"a"}}""";
        var anonymous = await silo.SendRawAsync(HttpMethod.Post, "/access/v1/evaluation", null, evaluation);
        AssertProblem(anonymous, HttpStatusCode.Unauthorized, "urn:grantsilo:problem:unauthenticated");
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        AssertProblem(await silo.SendRawAsync(HttpMethod.Post, "/access/v1/evaluation", null, "{not json"), HttpStatusCode.Unauthorized, "urn:grantsilo:problem:unauthenticated");

        var forged = silo.Identity.PersonToken("eve@test.dev", "gateway")[..^4] + "AAAA";
        var refused = await silo.SendRawAsync(HttpMethod.Post, "/access/v1/evaluation", forged, evaluation);
        AssertProblem(refused, HttpStatusCode.Unauthorized, "urn:grantsilo:problem:unauthenticated");
        Assert.DoesNotContain(forged, refused.Text, StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Task.FromResult(silo.Output.Contains("Refused POST /access/v1/evaluation from 127.0.0.1: unauthenticated caller (BadSignature", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "the refusal logged");
        Assert.DoesNotContain(forged, silo.Output, StringComparison.Ordinal);
        await AssertStillHealthyAsync();
    }

    [Fact]
    public async Task UnknownRoutesAndMethods_AreProblems()
    {
        var missing = await silo.SendAsync(HttpMethod.Get, "/v1/nothing-here", silo.Operator());
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("application/problem+json", missing.MediaType);
        Assert.Equal("urn:grantsilo:problem:not-found", missing["type"]);
        var method = await silo.SendAsync(HttpMethod.Put, "/v1/authorize", silo.Operator());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.Status);
        Assert.Equal("application/problem+json", method.MediaType);
    }

    [Fact]
    public async Task ACallerOverItsRate_Is429WithAProblemAndRetryAfter_AndOthersAreServed()
    {
        var greedy = silo.Operator();
        var answers = new List<HttpAnswer>();
        for (var i = 0; i < HttpSilo.Burst * 3; i++)
        {
            answers.Add(await silo.SendAsync(HttpMethod.Get, "/v1/cascades/pending", greedy));
        }
        var limited = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        AssertProblem(limited[0], HttpStatusCode.TooManyRequests, "urn:grantsilo:problem:rate-limited");
        Assert.NotNull(limited[0].Headers.RetryAfter);
        Assert.True(answers.Take(HttpSilo.Burst).All(a => a.Status == HttpStatusCode.OK), "the burst is served");
        // The limit is per caller: another caller is served at once.
        Assert.Equal(HttpStatusCode.OK, (await silo.SendAsync(HttpMethod.Get, "/v1/cascades/pending", silo.Operator())).Status);
    }
}
