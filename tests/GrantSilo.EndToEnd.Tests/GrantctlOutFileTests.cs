using System.Net;
using System.Text;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// <c>--out</c> onto a file grantctl cannot write (a directory, a folder that does not exist, a file it may not open)
/// ends with one line saying which, and exit code 2, never a stack trace. The answers come from a stand-in on loopback.
/// </summary>
public sealed class GrantctlOutFileTests : IDisposable
{
    private const string Token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwZXJzb246b3BzIn0.c2lnbmF0dXJlLW9mLXRoZS1vcGVyYXRvcg";
    private readonly Grantctl _grantctl = new();
    private readonly HttpListener _stand = new();
    private readonly Task _answers;

    public GrantctlOutFileTests()
    {
        var port = Ports.Free();
        _stand.Prefixes.Add($"http://127.0.0.1:{port}/");
        _stand.Start();
        _grantctl.Environment["GRANTCTL_URL"] = $"http://127.0.0.1:{port}";
        _answers = Task.Run(async () =>
        {
            while (_stand.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _stand.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var path = context.Request.Url!.AbsolutePath;
                var body = path switch
                {
                    "/v1/audit/keys" => "[]",
                    "/v1/audit/export" => "{\"record\":{}}\n",
                    _ => $"{{\"credentialId\":\"c-1\",\"taskId\":\"t-1\",\"sessionId\":\"s-1\",\"agent\":\"spiffe://e2e.dev/a\",\"expiresAt\":\"2030-01-01T00:00:00Z\",\"token\":\"{Token}\"}}",
                };
                context.Response.StatusCode = path.EndsWith("/credentials", StringComparison.Ordinal) ? 201 : 200;
                context.Response.ContentType = path == "/v1/audit/export" ? "application/x-ndjson" : "application/json";
                var bytes = Encoding.UTF8.GetBytes(body);
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });
    }

    public void Dispose()
    {
        _stand.Stop();
        _stand.Close();
        _grantctl.Dispose();
    }

    public static TheoryData<string, string> Places => new()
    {
        { "a directory", "" },
        { "a missing folder", "no-such-folder/out.json" },
    };

    [Theory]
    [MemberData(nameof(Places))]
    public async Task Out_OntoAFileItCannotWrite_IsOneLine_AndExit2(string what, string relative)
    {
        var target = Path.Combine(_grantctl.Home, "targets", relative);
        Directory.CreateDirectory(Path.Combine(_grantctl.Home, "targets"));
        foreach (var arguments in new[]
        {
            new[] { "audit", "keys", "--out", target },
            ["audit", "export", "--out", target],
            ["credentials", "issue", "--session", "s-1", "--task", "t-1", "--out", target],
        })
        {
            var run = await _grantctl.RunAsync(Token, arguments);
            Assert.True(run.Exit == 2, $"{what}, {arguments[0]} {arguments[1]}: {run}");
            var errors = run.Errors.Trim();
            Assert.DoesNotContain('\n', errors);
            Assert.Contains(target.TrimEnd('/'), errors, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Output + run.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled", run.Output + run.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, run.Output + run.Errors, StringComparison.Ordinal);
            if (arguments[0] == "credentials")
            {
                // The credential exists though its token was not saved: the line says which, to revoke it.
                Assert.Contains("The credential c-1 was issued but its token was not saved", errors, StringComparison.Ordinal);
            }
        }
    }
}
