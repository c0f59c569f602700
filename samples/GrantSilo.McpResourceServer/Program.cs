using GrantSilo.Samples.McpResourceServer;

// A sample MCP-style resource server protected by GrantSilo (see README.md).
//   dotnet run --project samples/GrantSilo.McpResourceServer -- --Mcp:Resource http://127.0.0.1:5100 --Mcp:GrantSilo http://127.0.0.1:8080
//     --Mcp:Issuer urn:grantsilo:local --Mcp:GatewayTokenFile /path/to/gateway.jwt
var builder = WebApplication.CreateBuilder(args);
var resource = builder.Configuration["Mcp:Resource"] ?? "http://127.0.0.1:5100";
var tokenFile = builder.Configuration["Mcp:GatewayTokenFile"]
    ?? throw new InvalidOperationException("Set Mcp:GatewayTokenFile: a file holding this server's workload token with the gateway role.");
builder.WebHost.UseUrls(resource);
var app = builder.Build();
var options = new ResourceServerOptions
{
    Resource = resource,
    GrantSilo = new Uri(builder.Configuration["Mcp:GrantSilo"] ?? "http://127.0.0.1:8080"),
    Issuer = builder.Configuration["Mcp:Issuer"] ?? "urn:grantsilo:local",
    GatewayToken = () => File.ReadAllText(tokenFile).Trim(),
    Tools = [new Tool("read_document", "doc", "read", HighRisk: false), new Tool("write_document", "doc", "write", HighRisk: true), new Tool("delete_document", "doc", "delete", HighRisk: true)],
};
using var grantSilo = new HttpClient();
McpResourceServer.Map(app, options, grantSilo, TimeProvider.System);
await app.RunAsync();
