using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Hosting;
using GrantSilo.Tls;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using YamlDotNet.RepresentationModel;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// There is no container engine here, so the container files are checked by parsing them; the
/// real-process tests run the same topology (Azurite plus identical silos) as the executable proof.
/// </summary>
public sealed partial class ContainerFilesTests
{
    private static YamlMappingNode Compose()
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(Repository.Read("docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlMappingNode Service(string name) =>
        (YamlMappingNode)((YamlMappingNode)Compose()["services"])[name];

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        ((YamlMappingNode)service["environment"]).Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value!);

    [Fact]
    public void Compose_HasAzuriteAndAScalableSiloService()
    {
        var services = (YamlMappingNode)Compose()["services"];
        Assert.Contains(new YamlScalarNode("azurite"), services.Children.Keys);
        var silo = Service("silo");

        // Scale-friendly: replicas get no fixed name and publish no host port.
        Assert.DoesNotContain(new YamlScalarNode("container_name"), silo.Children.Keys);
        Assert.DoesNotContain(new YamlScalarNode("ports"), silo.Children.Keys);
        Assert.DoesNotContain(new YamlScalarNode("hostname"), silo.Children.Keys);
        var build = (YamlMappingNode)silo["build"];
        Assert.True(File.Exists(Repository.PathOf(((YamlScalarNode)build["dockerfile"]).Value!)));
        Assert.Contains("azurite", ((YamlSequenceNode)silo["depends_on"]).Children.Select(c => ((YamlScalarNode)c).Value));
    }

    [Fact]
    public void Compose_SiloEnvironment_NamesOnlyRealOptions_AndBindsToAValidAzureTableSilo()
    {
        var environment = Environment(Service("silo"));
        var sections = new Dictionary<string, Type[]>
        {
            ["GrantSilo:Silo"] = [typeof(SiloHostOptions)],
            ["GrantSilo:Storage"] = [typeof(StorageSelectionOptions), typeof(AzureTableGrantOptions)],
            ["GrantSilo:Membership"] = [typeof(ClusterMembershipOptions)],
            ["GrantSilo:Tls"] = [typeof(GrantSiloTlsOptions)],
            ["GrantSilo:Cluster"] = [typeof(GrantSilo.Grains.Access.ClusterCallOptions)],
            ["GrantSilo:Identity:Issuers:N"] = [typeof(GrantSilo.Identity.TrustedIssuerOptions)],
            ["GrantSilo:Audit"] = [typeof(GrantSilo.Grains.Audit.AuditOptions)],
        };
        foreach (var key in environment.Keys)
        {
            // A list's items bind the same options class whatever their index.
            var path = System.Text.RegularExpressions.Regex.Replace(key.Replace("__", ":", StringComparison.Ordinal), @":\d+:", ":N:");
            var section = path[..path.LastIndexOf(':')];
            var property = path[(path.LastIndexOf(':') + 1)..];
            Assert.True(sections.TryGetValue(section, out var types), $"{key}: no options class binds section {section}");
            Assert.True(types.Any(t => t.GetProperty(property, BindingFlags.Public | BindingFlags.Instance) is not null), $"{key}: none of {string.Join(", ", types.Select(t => t.Name))} has a property {property}");
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(environment.ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value)).Build();
        var silo = configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>()!;
        var errors = new List<ValidationResult>();
        Assert.True(Validator.TryValidateObject(silo, new ValidationContext(silo), errors, validateAllProperties: true), string.Join("; ", errors.Select(e => e.ErrorMessage)));
        Assert.True(silo.AdvertiseHostNameAddress, "Replicas must advertise their own container address.");
        Assert.True(silo.ListenOnAnyHostAddress);
        Assert.Equal(StorageSelectionOptions.AzureTable, configuration["GrantSilo:Storage:Provider"]);

        var storage = new AzureTableGrantOptions();
        AzureTableGrantConfiguration.Bind(storage, configuration.GetSection(AzureTableGrantConfiguration.SectionName));
        Assert.Empty(AzureTableOptionsValidator.Validate(storage, "the silo's Azure Table storage", environment: null));
        // The connection string points at the compose service, not at localhost.
        Assert.Contains("TableEndpoint=http://azurite:", storage.ConnectionString, StringComparison.Ordinal);

        // TLS (always on in this profile) with the files scripts/dev-certs.sh makes, from the mounted folder.
        var tls = configuration.GetSection(GrantSiloTlsOptions.SiloSectionName).Get<GrantSiloTlsOptions>()!;
        tls.Enabled = true;
        Assert.Empty(tls.Validate(GrantSiloTlsOptions.SiloSectionName, GrantSiloTlsRole.Silo));
        var mount = ((YamlSequenceNode)Service("silo")["volumes"]).Children.Select(v => ((YamlScalarNode)v).Value!).Single();
        Assert.EndsWith(":/certs:ro", mount, StringComparison.Ordinal);
        Assert.Contains("./.certs", mount, StringComparison.Ordinal);
        Assert.All(new[] { tls.CertificateFile, tls.KeyFile, tls.CaFile }, f => Assert.StartsWith("/certs/", f, StringComparison.Ordinal));
        Assert.Equal(["silo.pem", "silo.key", "ca.pem"], new[] { tls.CertificateFile, tls.KeyFile, tls.CaFile }.Select(Path.GetFileName));
    }

    [Fact]
    public void Compose_NamesNoRegistryHost()
    {
        foreach (var (name, service) in ((YamlMappingNode)Compose()["services"]).Children.Select(p => (((YamlScalarNode)p.Key).Value, (YamlMappingNode)p.Value)))
        {
            if (service.Children.TryGetValue(new YamlScalarNode("image"), out var image) && !service.Children.ContainsKey(new YamlScalarNode("build")))
            {
                Assert.StartsWith("${IMAGE_REGISTRY", ((YamlScalarNode)image).Value, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Dockerfile_CopiesEveryProjectTheSiloHostIsBuiltFrom_AndRunsItsAssembly()
    {
        var lines = Repository.Read("Dockerfile").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var copied = new List<string>();
        foreach (var line in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1];
            foreach (var source in parts)
            {
                Assert.True(File.Exists(Repository.PathOf(source)) || Directory.Exists(Repository.PathOf(source)), $"The Dockerfile copies {source}, which does not exist.");
                copied.Add(source.TrimEnd('/'));
            }
        }

        var publish = lines.Single(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        var project = publish.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        Assert.True(File.Exists(Repository.PathOf(project)), $"The Dockerfile publishes {project}, which does not exist.");

        // Every project the silo host references, directly or not, is inside something copied.
        foreach (var reference in ProjectClosure(Repository.PathOf(project)))
        {
            var relative = Path.GetRelativePath(Repository.Root, reference).Replace('\\', '/');
            Assert.True(copied.Any(c => relative.StartsWith(c + "/", StringComparison.Ordinal)), $"{relative} is needed to build {project} but the Dockerfile does not copy it.");
        }

        var assembly = XDocument.Load(Repository.PathOf(project)).Descendants("AssemblyName").Single().Value;
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{assembly}.dll\"]", lines);
        Assert.All(lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)), l => Assert.StartsWith("FROM ${IMAGE_REGISTRY}/", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Dockerignore_KeepsBuildOutputAndNodeModulesOutOfTheContext()
    {
        var entries = Repository.Read(".dockerignore").Split('\n').Select(l => l.Trim()).ToList();

        Assert.Contains("**/bin/", entries);
        Assert.Contains("**/obj/", entries);
        Assert.Contains("node_modules/", entries);
        Assert.Contains(".certs/", entries);
    }

    [Fact]
    public void Docs_GiveExactlyTheSettingsTheProcessTestsUse()
    {
        // Only the commands (fenced bash blocks) count, not settings mentioned in the prose.
        var page = string.Join("\n", CommandBlock().Matches(Repository.Read("docs/multi-silo.md")).Select(m => m.Groups[1].Value));
        var assignments = SettingPattern().Matches(page).Select(m => (Key: m.Groups[1].Value, Value: m.Groups[2].Value)).ToList();
        var expected = MultiSiloSettings.Silo("conn", 1, 2).Concat(MultiSiloSettings.Client("conn"));
        foreach (var (key, value) in expected)
        {
            Assert.True(assignments.Any(a => a.Key == key), $"docs/multi-silo.md does not set {key}.");
            // Ports, the storage account and where the certificate files are differ; the file names do not.
            if (key.EndsWith("File", StringComparison.Ordinal))
            {
                Assert.True(assignments.Any(a => a.Key == key && Path.GetFileName(a.Value) == Path.GetFileName(value)), $"docs/multi-silo.md sets {key} to a file not named {Path.GetFileName(value)}, as scripts/dev-certs.sh and the tests name it.");
            }
            else if (key is not ("GrantSilo__Storage__ConnectionString" or "GrantSilo__Silo__SiloPort" or "GrantSilo__Silo__GatewayPort" or "GrantSilo__Cluster__CallKey"))
            {
                Assert.True(assignments.Any(a => a.Key == key && a.Value == value), $"docs/multi-silo.md sets {key} to something other than the tests' {value}.");
            }
        }
        var known = expected.Select(p => p.Key).Concat(["Workload__HistoryPath", "Workload__Duration", "Workload__Concurrency", "Workload__CallDeadline", "Workload__IdentityKeyFile"]).ToHashSet();
        Assert.All(assignments, a => Assert.Contains(a.Key, known));
    }

    private static IEnumerable<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference").Select(r => r.Attribute("Include")!.Value))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, reference.Replace('\\', '/'))));
            }
        }
        return seen;
    }

    [GeneratedRegex(@"((?:GrantSilo|Workload)__[A-Za-z0-9_]+)=([^\s\\]*)")]
    private static partial Regex SettingPattern();

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CommandBlock();
}
