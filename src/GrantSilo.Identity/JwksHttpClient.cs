namespace GrantSilo.Identity;

/// <summary>
/// The <see cref="HttpClient"/> GrantSilo fetches JWKS URLs with. Register one in DI (or pass it to
/// <see cref="CallerAuthenticator"/>) to substitute a handler, a proxy or a test stub; without it GrantSilo
/// makes its own, which follows no redirects.
/// </summary>
public sealed class JwksHttpClient(HttpClient client)
{
    /// <summary>The client.</summary>
    public HttpClient Client { get; } = client;

    internal static HttpClient CreateDefault() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
    })
    {
        Timeout = TimeSpan.FromSeconds(15),
        MaxResponseContentBufferSize = 1 << 20,
    };
}
