using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GrantSilo.Testing.Tls;
using GrantSilo.Tls;
using Microsoft.Extensions.Options;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>TLS settings are checked at start-up with messages naming the keys; peers are trusted only through the configured CA.</summary>
public sealed class TlsCredentialsTests : IDisposable
{
    private const string Silo = GrantSiloTlsOptions.SiloSectionName;
    private static readonly TestCertificates Ours = TestCertificates.Shared;
    private readonly TestCertificates _theirs = TestCertificates.Create(Path.Combine(Path.GetTempPath(), $"grantsilo-other-ca-{Guid.NewGuid():N}"), "Another CA");

    public void Dispose() => Directory.Delete(_theirs.Folder, recursive: true);

    private static GrantSiloTlsOptions SiloOptions(TestCertificates certificates, string? caFile = null) => new()
    {
        Enabled = true,
        CertificateFile = certificates.SiloCertificate,
        KeyFile = certificates.SiloKey,
        CaFile = caFile ?? certificates.Ca,
    };

    [Fact]
    public void Options_EnabledWithoutACertificate_NameTheKeysAndTheDevelopmentScript()
    {
        var errors = new GrantSiloTlsOptions { Enabled = true }.Validate(Silo, GrantSiloTlsRole.Silo);

        var message = string.Join("\n", errors);
        Assert.Contains("GrantSilo:Tls:CertificateFile", message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Tls:Thumbprint", message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Tls:CaFile", message, StringComparison.Ordinal);
        Assert.Contains("scripts/dev-certs.sh", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_FileAndStoreTogether_OrAKeyWithoutACertificate_AreRefused()
    {
        Assert.Contains(new GrantSiloTlsOptions { Enabled = true, CertificateFile = "a.pem", Thumbprint = "AB", CaFile = "ca.pem" }.Validate(Silo, GrantSiloTlsRole.Silo),
            e => e.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(new GrantSiloTlsOptions { Enabled = true, Subject = "x", KeyFile = "a.key", CaFile = "ca.pem" }.Validate(Silo, GrantSiloTlsRole.Silo),
            e => e.Contains("GrantSilo:Tls:KeyFile", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_AClientNeedsOnlyTheCa_AndMayNotUseSiloSettings()
    {
        const string client = GrantSiloTlsOptions.ClientSectionName;
        Assert.Empty(new GrantSiloTlsOptions { Enabled = true, CaFile = "ca.pem" }.Validate(client, GrantSiloTlsRole.Client));
        Assert.Contains(new GrantSiloTlsOptions { Enabled = true, CaFile = "ca.pem", RequireClientCertificate = true }.Validate(client, GrantSiloTlsRole.Client),
            e => e.Contains("GrantSilo:Client:Tls:RequireClientCertificate", StringComparison.Ordinal));
        Assert.Contains(new GrantSiloTlsOptions { Enabled = true }.Validate(client, GrantSiloTlsRole.Client),
            e => e.Contains("GrantSilo:Client:Tls:CaFile", StringComparison.Ordinal));
        Assert.Empty(new GrantSiloTlsOptions().Validate(client, GrantSiloTlsRole.Client));
    }

    [Fact]
    public void Load_AMissingFile_NamesTheKeyAndThePath()
    {
        var options = SiloOptions(Ours);
        options.CertificateFile = Path.Combine(Ours.Folder, "missing.pem");

        var error = Assert.Throws<OptionsValidationException>(() => GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo));

        Assert.Contains($"GrantSilo:Tls:CertificateFile '{options.CertificateFile}' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ACertificateOfAnotherCa_IsRefusedAtStart()
    {
        var error = Assert.Throws<OptionsValidationException>(() => GrantSiloTlsCredentials.Load(SiloOptions(_theirs, caFile: Ours.Ca), Silo, GrantSiloTlsRole.Silo));

        Assert.Contains("would be refused by its peers", error.Message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Tls:CaFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AClientOnlyCertificateForASilo_IsRefused()
    {
        var options = SiloOptions(Ours);
        (options.CertificateFile, options.KeyFile) = (Ours.ClientCertificate, Ours.ClientKey);

        var error = Assert.Throws<OptionsValidationException>(() => GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo));

        Assert.Contains("both server and client authentication", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_APfxWithItsPassword_AndAPemWithItsKey_BothGiveAPrivateKey()
    {
        var pfx = GrantSiloTlsCredentials.Load(new GrantSiloTlsOptions { Enabled = true, CertificateFile = Ours.SiloPfx, CertificatePassword = TestCertificates.PfxPassword, CaFile = Ours.Ca }, Silo, GrantSiloTlsRole.Silo);
        var pem = GrantSiloTlsCredentials.Load(SiloOptions(Ours), Silo, GrantSiloTlsRole.Silo);

        Assert.True(pfx.Certificate!.HasPrivateKey);
        Assert.True(pem.Certificate!.HasPrivateKey);
        Assert.Equal(pfx.Certificate.Thumbprint, pem.Certificate.Thumbprint);
        var wrongPassword = Assert.Throws<OptionsValidationException>(() => GrantSiloTlsCredentials.Load(new GrantSiloTlsOptions { Enabled = true, CertificateFile = Ours.SiloPfx, CertificatePassword = "wrong", CaFile = Ours.Ca }, Silo, GrantSiloTlsRole.Silo));
        Assert.Contains("GrantSilo:Tls:CertificatePassword", wrongPassword.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SiloLinks_AcceptOnlyPeersOfTheCa_WhateverThePlatformSays()
    {
        var credentials = GrantSiloTlsCredentials.Load(SiloOptions(Ours), Silo, GrantSiloTlsRole.Silo);
        using var ourPeer = X509CertificateLoader.LoadCertificateFromFile(Ours.SiloCertificate);
        using var theirPeer = X509CertificateLoader.LoadCertificateFromFile(_theirs.SiloCertificate);

        foreach (var link in new[] { credentials.SiloInbound(), credentials.SiloOutbound() })
        {
            // The platform reports our private CA as untrusted and the dialled address as a name mismatch; neither matters.
            Assert.True(link.RemoteCertificateValidation!(ourPeer, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.False(link.RemoteCertificateValidation!(theirPeer, null, SslPolicyErrors.None));
        }
    }

    [Fact]
    public void SiloLinks_RefuseAClientCertificateOfTheSameCa_WhichTheGatewayAccepts()
    {
        // Clients' certificates come from the silos' CA (docs/multi-silo.md). A client holding one may use the gateway,
        // where its calls pass the door; it must never open a silo link and speak as a silo.
        var credentials = GrantSiloTlsCredentials.Load(SiloOptions(Ours), Silo, GrantSiloTlsRole.Silo);
        using var client = X509CertificateLoader.LoadCertificateFromFile(Ours.ClientCertificate);
        using var serverOnly = TestCertificates.Issue(Ours.Authority, "CN=server-only", ["silo"], [IPAddress.Loopback], [TestCertificates.ServerAuthentication], DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.True(credentials.GatewayInbound().RemoteCertificateValidation!(client, null, SslPolicyErrors.None));
        foreach (var link in new[] { credentials.SiloInbound(), credentials.SiloOutbound() })
        {
            Assert.False(link.RemoteCertificateValidation!(client, null, SslPolicyErrors.None));
            Assert.False(link.RemoteCertificateValidation!(serverOnly, null, SslPolicyErrors.None));
        }
    }

    [Fact]
    public void SiloLinks_WithAllowedPeerNames_RefuseACertificateOfTheCaWithoutThem()
    {
        var options = SiloOptions(Ours);
        options.AllowedPeerNames = ["silo"];
        var allowed = GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo);
        options.AllowedPeerNames = ["payments-silo"];
        var other = GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo);
        using var peer = X509CertificateLoader.LoadCertificateFromFile(Ours.SiloCertificate);

        Assert.True(allowed.SiloInbound().RemoteCertificateValidation!(peer, null, SslPolicyErrors.None));
        Assert.False(other.SiloInbound().RemoteCertificateValidation!(peer, null, SslPolicyErrors.None));
    }

    [Fact]
    public void Gateway_ChecksAClientCertificate_AndRequiresOneOnlyWhenAsked()
    {
        var options = SiloOptions(Ours);
        var optional = GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo).GatewayInbound();
        options.RequireClientCertificate = true;
        var required = GrantSiloTlsCredentials.Load(options, Silo, GrantSiloTlsRole.Silo).GatewayInbound();
        using var client = X509CertificateLoader.LoadCertificateFromFile(Ours.ClientCertificate);
        using var stranger = X509CertificateLoader.LoadCertificateFromFile(_theirs.ClientCertificate);
        using var expired = TestCertificates.Issue(Ours.Authority, "CN=old", [], [IPAddress.Loopback], [TestCertificates.ClientAuthentication], DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-1));

        Assert.Equal(Orleans.Connections.Security.RemoteCertificateMode.AllowCertificate, optional.RemoteCertificateMode);
        Assert.Equal(Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate, required.RemoteCertificateMode);
        Assert.True(optional.RemoteCertificateValidation!(client, null, SslPolicyErrors.None));
        Assert.False(optional.RemoteCertificateValidation!(stranger, null, SslPolicyErrors.None));
        Assert.False(optional.RemoteCertificateValidation!(expired, null, SslPolicyErrors.None));
    }

    [Fact]
    public async Task DevCertsScript_MakesCertificatesASiloAndAClientLoad_AndKeepsThemWhenRunAgain()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"grantsilo-dev-certs-{Guid.NewGuid():N}");
        try
        {
            var first = await RunScriptAsync(folder);
            Assert.Contains($"GrantSilo__Tls__CaFile={folder}/ca.pem", first, StringComparison.Ordinal);
            var thumbprint = GrantSiloTlsCredentials.Load(new GrantSiloTlsOptions { Enabled = true, CertificateFile = Path.Combine(folder, "silo.pem"), KeyFile = Path.Combine(folder, "silo.key"), CaFile = Path.Combine(folder, "ca.pem") }, Silo, GrantSiloTlsRole.Silo).Certificate!.Thumbprint;
            var pfx = GrantSiloTlsCredentials.Load(new GrantSiloTlsOptions { Enabled = true, CertificateFile = Path.Combine(folder, "silo.pfx"), CaFile = Path.Combine(folder, "ca.pem") }, Silo, GrantSiloTlsRole.Silo);
            Assert.Equal(thumbprint, pfx.Certificate!.Thumbprint);
            var client = GrantSiloTlsCredentials.Load(new GrantSiloTlsOptions { Enabled = true, CertificateFile = Path.Combine(folder, "client.pem"), KeyFile = Path.Combine(folder, "client.key"), CaFile = Path.Combine(folder, "ca.pem") }, GrantSiloTlsOptions.ClientSectionName, GrantSiloTlsRole.Client);
            using var silo = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "silo.pem"));
            // The silo's certificate is what a client and another silo accept.
            Assert.True(client.ClientToGateway().RemoteCertificateValidation!(silo, null, SslPolicyErrors.None));
            Assert.True(pfx.SiloOutbound().RemoteCertificateValidation!(silo, null, SslPolicyErrors.None));

            // The cluster call key and the development issuer: the workload mints with issuer.key.json, silos verify with issuer.jwks.json.
            var callKey = File.ReadAllText(Path.Combine(folder, "call-key"));
            Assert.Equal(32, Convert.FromBase64String(callKey).Length);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "issuer.key.json")));
            }
            var issuer = GrantSilo.Testing.TestIdentity.Load(Path.Combine(folder, "issuer.key.json"));
            Assert.Equal(callKey, issuer.ClusterCallKey);
            using var verifier = new GrantSilo.Identity.CallerAuthenticator(
                Options.Create(new GrantSilo.Identity.IdentityOptions
                {
                    Issuers =
                    [
                        new() { Name = "services", Kind = GrantSilo.Identity.IssuerKind.Oidc, Issuer = GrantSilo.Testing.TestIdentity.ServiceIssuer, CallerKind = GrantSilo.Identity.CallerKind.Service, JwksFile = Path.Combine(folder, "issuer.jwks.json") },
                        new() { Name = "agents", Kind = GrantSilo.Identity.IssuerKind.Spiffe, Issuer = $"{GrantSilo.Testing.TestIdentity.SpiffeIssuer}/e2e.dev", TrustDomain = "e2e.dev", JwksFile = Path.Combine(folder, "issuer.jwks.json") },
                    ],
                }),
                TimeProvider.System,
                Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
            var service = await verifier.AuthenticateAsync(issuer.ServiceToken("service:workload", "operator"));
            Assert.True(service.IsSuccess, service.Detail);
            Assert.Equal("service:workload", service.Caller!.Name);
            var agent = await verifier.AuthenticateAsync(issuer.AgentToken("spiffe://e2e.dev/run/planner"));
            Assert.True(agent.IsSuccess, agent.Detail);

            await RunScriptAsync(folder);
            using var again = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "silo.pem"));
            Assert.Equal(thumbprint, again.Thumbprint);
            Assert.Equal(callKey, File.ReadAllText(Path.Combine(folder, "call-key")));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<string> RunScriptAsync(string folder)
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash", [Support.Repository.PathOf("scripts/dev-certs.sh"), folder]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var script = System.Diagnostics.Process.Start(start)!;
        var stdout = script.StandardOutput.ReadToEndAsync();
        var stderr = script.StandardError.ReadToEndAsync();
        await script.WaitForExitAsync();
        Assert.True(script.ExitCode == 0, $"scripts/dev-certs.sh failed (it needs openssl; .ci/run installs it): {await stderr}{await stdout}");
        return await stdout;
    }
}
