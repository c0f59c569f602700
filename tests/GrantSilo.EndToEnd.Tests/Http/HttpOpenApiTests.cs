using System.Net;
using System.Text.RegularExpressions;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>The OpenAPI 3.1 document the process serves describes every route the API maps, and nothing else.</summary>
[Collection(HttpSiloCollection.Name)]
public sealed partial class HttpOpenApiTests(HttpSilo silo)
{
    [Fact]
    public async Task OpenApiDocument_Is31_AndCoversEveryRoute()
    {
        var answer = await silo.SendAsync(HttpMethod.Get, "/openapi/v1.json", null);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.StartsWith("3.1", answer["openapi"], StringComparison.Ordinal);
        var documented = answer.Json.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => $"{operation.Name.ToUpperInvariant()} {path.Name}"))
            .ToHashSet(StringComparer.Ordinal);

        // The routes the API maps, read from the same library the process runs, built without a silo.
        var builder = WebApplication.CreateSlimBuilder();
        builder.AddGrantSiloHttpApi();
        await using var app = builder.Build();
        app.UseGrantSiloHttpApi();
        var mapped = ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText != "/openapi/{documentName}.json")
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(method => $"{method} {Normalize(endpoint.RoutePattern.RawText!)}"))
            .ToHashSet(StringComparer.Ordinal);

        Assert.True(mapped.Count >= 45, $"only {mapped.Count} routes were found");
        Assert.Empty(mapped.Except(documented));
        Assert.Empty(documented.Except(mapped));
        foreach (var route in new[] { "POST /v1/authorize", "POST /access/v1/evaluation", "POST /access/v1/evaluations", "GET /.well-known/authzen-configuration", "GET /health/live", "GET /health/ready" })
        {
            Assert.Contains(route, documented);
        }

        // Every operation has an id, and says what it answers (problems included).
        foreach (var path in answer.Json.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                Assert.True(operation.Value.TryGetProperty("operationId", out _), $"{operation.Name} {path.Name} has no operationId");
                var responses = operation.Value.GetProperty("responses");
                Assert.True(responses.EnumerateObject().Any(r => r.Name.StartsWith('2')), $"{operation.Name} {path.Name} documents no success");
            }
        }
        // A scope is described as it is written on the wire.
        var scope = answer.Json.GetProperty("components").GetProperty("schemas").GetProperty("Scope").GetProperty("properties");
        Assert.Equal("array", scope.GetProperty("permissions").GetProperty("type").GetString());
        Assert.Equal("integer", scope.GetProperty("delegationDepth").GetProperty("type").GetString());
        Assert.Contains("application/problem+json", answer.Json.GetProperty("paths").GetProperty("/v1/tasks").GetProperty("post").GetProperty("responses").GetProperty("403").GetRawText(), StringComparison.Ordinal);

        // AuthZEN: each endpoint's answer is its own schema (the batch answers a list of decisions), and the problems the
        // door, the body reader, the limiter and readiness give are described.
        var schemas = answer.Json.GetProperty("components").GetProperty("schemas");
        foreach (var (path, schema) in new[] { ("/access/v1/evaluation", "AuthZenDecision"), ("/access/v1/evaluations", "AuthZenEvaluationsResponse") })
        {
            var responses = answer.Json.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("responses");
            Assert.Equal($"#/components/schemas/{schema}", responses.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
            foreach (var status in new[] { "400", "401", "403", "413", "415", "429", "503" })
            {
                Assert.Contains("application/problem+json", responses.GetProperty(status).GetRawText(), StringComparison.Ordinal);
            }
        }
        Assert.Equal("array", schemas.GetProperty("AuthZenEvaluationsResponse").GetProperty("properties").GetProperty("evaluations").GetProperty("type").GetString());
        Assert.True(schemas.GetProperty("AuthZenDecision").GetProperty("properties").TryGetProperty("decision", out _));
    }

    [Fact]
    public async Task ReferencePage_IsServedInDevelopmentOnly_FromThePackage()
    {
        // The shared silo runs in Production: no reference page.
        Assert.Equal(HttpStatusCode.NotFound, (await silo.SendAsync(HttpMethod.Get, "/reference/index.html", null)).Status);

        // A silo in Development (with its development issuer) serves it, and its assets come from the silo itself.
        var keyFolder = Directory.CreateTempSubdirectory("grantsilo-reference-");
        try
        {
            var httpPort = Ports.Free();
            await using var development = ChildProcess.Start("reference", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
            {
                ["DOTNET_ENVIRONMENT"] = "Development",
                ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["GrantSilo__Http__Port"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(keyFolder.FullName, "dev-issuer.jwk"),
            });
            await development.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(90));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            var page = await Eventually.ReturnsAsync(() => http.GetAsync(new Uri("/reference/index.html", UriKind.Relative)), r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the reference page");
            var html = await page.Content.ReadAsStringAsync();
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("://", html, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/reference/swagger-ui-bundle.js", UriKind.Relative))).StatusCode);
            await development.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            keyFolder.Delete(recursive: true);
        }
    }

    // Route constraints ({version:long}) are not part of an OpenAPI path.
    private static string Normalize(string pattern) => Constraint().Replace(pattern.Length > 1 ? pattern.TrimEnd('/') : pattern, "{$1}");

    [GeneratedRegex(@"\{([^}:]+):[^}]+\}")]
    private static partial Regex Constraint();
}
