using System.Net;
using System.Text.RegularExpressions;
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
    }

    // Route constraints ({version:long}) are not part of an OpenAPI path.
    private static string Normalize(string pattern) => Constraint().Replace(pattern.Length > 1 ? pattern.TrimEnd('/') : pattern, "{$1}");

    [GeneratedRegex(@"\{([^}:]+):[^}]+\}")]
    private static partial Regex Constraint();
}
