using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Grantctl;

/// <summary>
/// <c>grantctl dashboard</c>: the Orleans Dashboard in a browser on this machine. A proxy on loopback adds the
/// logged-in operator's token to each request for the dashboard's pages and data, so the token stays in grantctl and
/// never reaches the browser. The browser proves it opened the link grantctl printed: the link's one-time key is
/// exchanged for a cookie (HttpOnly, SameSite=Strict) that every later request must carry. Only GET and HEAD, only
/// under the dashboard's path, only for the host name 127.0.0.1 (so another site cannot rebind a name to it).
/// </summary>
internal sealed class DashboardProxy(Uri silo, string token, string path) : IDisposable
{
    private const string CookieName = "grantctl-dashboard";
    private readonly HttpClient _http = new() { BaseAddress = silo, Timeout = TimeSpan.FromSeconds(60) };
    private readonly string _key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async Task<int> RunAsync(int port, Output output, CancellationToken cancellationToken)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException taken)
        {
            throw new GrantctlException(ExitCodes.Usage, $"Port {port} on 127.0.0.1 cannot be used ({taken.Message}).", "Choose another with --port.");
        }
        output.Line($"Open http://127.0.0.1:{port}/?key={_key} in a browser on this machine. Ctrl+C stops.");
        using var stop = cancellationToken.Register(listener.Stop);
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception stopped) when (stopped is HttpListenerException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
            {
                break;
            }
            _ = ServeAsync(context, cancellationToken);
        }
        return ExitCodes.Ok;
    }

    public void Dispose() => _http.Dispose();

    private async Task ServeAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var requested = request.Url!.AbsolutePath;
            if (!string.Equals(request.Url.Host, "127.0.0.1", StringComparison.Ordinal))
            {
                await PlainAsync(response, HttpStatusCode.Forbidden, "Use http://127.0.0.1, as grantctl printed.").ConfigureAwait(false);
                return;
            }
            if (requested == "/" && request.QueryString["key"] is { } offered)
            {
                if (!Same(offered, _key))
                {
                    await PlainAsync(response, HttpStatusCode.Forbidden, "That is not the link grantctl printed.").ConfigureAwait(false);
                    return;
                }
                response.Headers.Add("Set-Cookie", $"{CookieName}={_key}; Path=/; HttpOnly; SameSite=Strict");
                response.Redirect(path + "/");
                response.Close();
                return;
            }
            if (request.Cookies[CookieName]?.Value is not { } cookie || !Same(cookie, _key))
            {
                await PlainAsync(response, HttpStatusCode.Forbidden, "Open the link grantctl printed.").ConfigureAwait(false);
                return;
            }
            if (request.HttpMethod is not ("GET" or "HEAD"))
            {
                await PlainAsync(response, HttpStatusCode.MethodNotAllowed, "The dashboard is read only.").ConfigureAwait(false);
                return;
            }
            if (!(requested == path || requested.StartsWith(path + "/", StringComparison.Ordinal)))
            {
                await PlainAsync(response, HttpStatusCode.NotFound, $"Only {path} is served here.").ConfigureAwait(false);
                return;
            }
            using var forwarded = new HttpRequestMessage(new HttpMethod(request.HttpMethod), new Uri(request.Url.PathAndQuery, UriKind.Relative));
            forwarded.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var answer = await _http.SendAsync(forwarded, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentType is { } type)
            {
                response.ContentType = type.ToString();
            }
            response.Headers.Add("X-Frame-Options", "DENY");
            response.Headers.Add("Cache-Control", "no-store");
            await using var body = await answer.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await body.CopyToAsync(response.OutputStream, cancellationToken).ConfigureAwait(false);
            response.Close();
        }
        catch (Exception failed) when (failed is HttpRequestException or IOException or HttpListenerException or OperationCanceledException or ObjectDisposedException)
        {
            try
            {
                await PlainAsync(response, HttpStatusCode.BadGateway, "GrantSilo could not be reached.").ConfigureAwait(false);
            }
            catch (Exception closed) when (closed is HttpListenerException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                // The browser went away.
            }
        }
    }

    private static bool Same(string offered, string key) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(offered), Encoding.ASCII.GetBytes(key));

    private static async Task PlainAsync(HttpListenerResponse response, HttpStatusCode status, string text)
    {
        response.StatusCode = (int)status;
        response.ContentType = "text/plain; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(text);
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
        response.Close();
    }
}
