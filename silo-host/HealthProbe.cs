using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using GrantSilo.Http;
using GrantSilo.Tls;
using Microsoft.Extensions.Configuration;

namespace GrantSilo.SiloHost;

/// <summary>
/// <c>dotnet GrantSilo.SiloHost.dll --probe ready</c> (or <c>live</c>): asks this machine's silo for
/// <c>/health/ready</c> (<c>/health/live</c>) on its HTTP API and exits 0 when it answers 200, 1 otherwise. For
/// container health checks, where the runtime image has no curl or wget: the probe reads the same settings as the
/// silo (appsettings.json, environment, command line) to find the port, and uses HTTPS, trusting only
/// <c>GrantSilo:Tls:CaFile</c>, when the API does.
/// </summary>
internal static class HealthProbe
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static bool IsProbe(string[] args) => args.Length >= 1 && args[0] == "--probe";

    public static async Task<int> RunAsync(string[] args)
    {
        var which = args.Length >= 2 ? args[1] : "ready";
        if (which is not ("ready" or "live"))
        {
            await Console.Error.WriteLineAsync($"--probe {which}: use --probe ready or --probe live.");
            return 2;
        }
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args[2..])
            .Build();
        var port = configuration.GetValue<int?>($"{HttpApiOptions.SectionName}:{nameof(HttpApiOptions.Port)}") ?? new HttpApiOptions().Port;
        var tls = new GrantSiloTlsOptions();
        configuration.GetSection(GrantSiloTlsOptions.SiloSectionName).Bind(tls);
        var https = tls.Enabled == true && tls.HasCertificate;
        var uri = new Uri($"{(https ? "https" : "http")}://127.0.0.1:{port}/health/{which}");

        using var handler = new SocketsHttpHandler { ConnectTimeout = Timeout };
        if (https && !string.IsNullOrWhiteSpace(tls.CaFile))
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(tls.CaFile);
            // The silo's certificate must chain to the cluster's CA (its name may be a service name, not 127.0.0.1).
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }
        using var client = new HttpClient(handler) { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(uri);
            Console.WriteLine($"{uri.AbsolutePath}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or AuthenticationException)
        {
            Console.WriteLine($"{uri.AbsolutePath}: no answer ({e.GetType().Name}: {e.Message})");
            return 1;
        }
    }
}
