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
/// The container files, parsed: what they promise a user (standard images, non-root, a readiness health check,
/// nothing published on the host, readiness-gated start-up, settings that bind). scripts/container-test.sh builds and
/// runs them with podman, under a workload and a rolling upgrade; the real-process tests run the same topology.
/// </summary>
public sealed partial class ContainerFilesTests
{
    private static YamlMappingNode Compose(string file = "docker-compose.yml")
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(Repository.Read(file));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlMappingNode Service(string name, string file = "docker-compose.yml") =>
        Merged((YamlMappingNode)((YamlMappingNode)Compose(file)["services"])[name]);

    // YAML merge keys (<<: *anchor), as compose resolves them: the node's own keys win.
    private static YamlMappingNode Merged(YamlMappingNode node)
    {
        var merged = new YamlMappingNode();
        if (node.Children.TryGetValue(new YamlScalarNode("<<"), out var merge))
        {
            foreach (var (key, value) in ((YamlMappingNode)merge).Children)
            {
                merged.Children[key] = value;
            }
        }
        foreach (var (key, value) in node.Children.Where(p => p.Key is not YamlScalarNode { Value: "<<" }))
        {
            merged.Children[key] = value;
        }
        return merged;
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        Merged((YamlMappingNode)service["environment"]).Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value!);

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
        // Readiness-gated: the silos start once Azurite's health check passes.
        var dependsOn = (YamlMappingNode)silo["depends_on"];
        Assert.Equal("service_healthy", Scalar((YamlMappingNode)dependsOn["azurite"], "condition"));
        Assert.Contains(new YamlScalarNode("test"), ((YamlMappingNode)Service("azurite")["healthcheck"]).Children.Keys);
        // Stopping leaves the silo more time than its 30 s shutdown timeout before SIGKILL.
        Assert.True(TimeSpan.Parse("00:00:" + Scalar(silo, "stop_grace_period")!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Compose_PublishesNothingOnTheHost()
    {
        // Azurite accepts the well-known development key: publishing it would let anyone reaching the host rewrite grain state.
        foreach (var (name, service) in ((YamlMappingNode)Compose()["services"]).Children.Select(p => (((YamlScalarNode)p.Key).Value, (YamlMappingNode)p.Value)))
        {
            Assert.False(service.Children.ContainsKey(new YamlScalarNode("ports")), $"{name} publishes ports on the host.");
            Assert.Null(Scalar(service, "network_mode"));
        }
        Assert.DoesNotContain("0.0.0.0:", Repository.Read("docker-compose.yml"), StringComparison.Ordinal);
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
            ["GrantSilo:Http"] = [typeof(GrantSilo.Http.HttpApiOptions)],
            ["GrantSilo:Identity:Issuers:N"] = [typeof(GrantSilo.Identity.TrustedIssuerOptions)],
            ["GrantSilo:Audit"] = [typeof(GrantSilo.Grains.Audit.AuditOptions)],
            ["GrantSilo:Keys"] = [typeof(GrantSilo.Grains.Keys.KeyRingOptions)],
        };
        foreach (var key in environment.Keys)
        {
            // A list's items bind the same options class whatever their index.
            var path = System.Text.RegularExpressions.Regex.Replace(key.Replace("__", ":", StringComparison.Ordinal), @":\d+:", ":N:");
            // An item of a list of strings (AllowedPeerNames:0) binds the list's property.
            path = System.Text.RegularExpressions.Regex.Replace(path, @":\d+$", "");
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
        // Only certificates naming a silo join (the silo host refuses an empty list outside Development).
        Assert.Equal(["silo"], tls.AllowedPeerNames);
        var mount = ((YamlSequenceNode)Service("silo")["volumes"]).Children.Select(v => ((YamlScalarNode)v).Value!).Single();
        Assert.EndsWith(":/certs:ro", mount, StringComparison.Ordinal);
        Assert.Contains("./.certs", mount, StringComparison.Ordinal);
        Assert.All(new[] { tls.CertificateFile, tls.KeyFile, tls.CaFile }, f => Assert.StartsWith("/certs/", f, StringComparison.Ordinal));
        Assert.Equal(["silo.pem", "silo.key", "ca.pem"], new[] { tls.CertificateFile, tls.KeyFile, tls.CaFile }.Select(Path.GetFileName));
    }

    [Fact]
    public void ComposeFiles_NameTheStandardPublicImages_AndNoRegistryVariable()
    {
        foreach (var file in new[] { "docker-compose.yml", "compose.loopback.yml" })
        {
            Assert.StartsWith("mcr.microsoft.com/azure-storage/azurite:", Scalar(Service("azurite", file), "image"), StringComparison.Ordinal);
            Assert.DoesNotContain("IMAGE_REGISTRY", Repository.Read(file), StringComparison.Ordinal);
        }
        Assert.Equal("grantsilo/silo-host:local", Scalar(Service("silo"), "image"));
    }

    [Theory]
    [InlineData("docker-compose.yml", "silo")]
    [InlineData("compose.loopback.yml", "silo1")]
    [InlineData("compose.loopback.yml", "silo4")]
    public void Compose_RestartsACrashedSilo_ABoundedNumberOfTimes_SoARefusedConfigurationDoesNotLoop(string file, string service)
    {
        // A silo refusing its configuration exits 78; compose cannot exempt an exit code, so retries are bounded.
        var restart = Scalar(Service(service, file), "restart");
        Assert.Equal("on-failure:5", restart);
    }

    [Fact]
    public void LoopbackCompose_RunsEachSiloOnHostNetworking_WithItsOwnPorts_AndTheBridgeFilesSettings()
    {
        var services = ((YamlMappingNode)Compose("compose.loopback.yml")["services"]).Children
            .ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => Merged((YamlMappingNode)p.Value));
        var silos = services.Keys.Where(k => k.StartsWith("silo", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(["silo1", "silo2", "silo3", "silo4"], silos);
        Assert.Equal("host", Scalar(services["azurite"], "network_mode"));
        // Azurite listens on loopback only.
        var command = ((YamlSequenceNode)services["azurite"]["command"]).Children.Select(c => ((YamlScalarNode)c).Value).ToList();
        Assert.Equal("127.0.0.1", command[command.IndexOf("--tableHost") + 1]);

        var bridge = Environment(Service("silo"));
        var ports = new List<string>();
        foreach (var name in silos)
        {
            var silo = services[name];
            Assert.Equal("host", Scalar(silo, "network_mode"));
            Assert.False(silo.Children.ContainsKey(new YamlScalarNode("ports")));
            Assert.Equal("service_healthy", Scalar((YamlMappingNode)((YamlMappingNode)silo["depends_on"])["azurite"], "condition"));
            var environment = Environment(silo);
            Assert.Equal("127.0.0.1", environment["GrantSilo__Silo__AdvertisedIPAddress"]);
            Assert.Equal("false", environment["GrantSilo__Silo__ListenOnAnyHostAddress"]);
            Assert.Equal("false", environment["GrantSilo__Http__ListenOnAnyHostAddress"]);
            Assert.Contains("TableEndpoint=http://127.0.0.1:", environment["GrantSilo__Storage__ConnectionString"], StringComparison.Ordinal);
            ports.AddRange(new[] { "GrantSilo__Silo__SiloPort", "GrantSilo__Silo__GatewayPort", "GrantSilo__Http__Port" }.Select(k => environment[k]));
            // The same cluster as the bridge file: identity, TLS and storage settings agree, only addresses and ports differ.
            foreach (var (key, value) in bridge.Where(p => p.Key.Contains("__Identity__", StringComparison.Ordinal) || p.Key.Contains("__Tls__", StringComparison.Ordinal) || p.Key is "GrantSilo__Cluster__CallKeyFile" or "GrantSilo__Silo__ClusterId" or "GrantSilo__Silo__ServiceId" or "GrantSilo__Storage__Provider"))
            {
                Assert.True(environment.TryGetValue(key, out var loopback) && loopback == value, $"{name}: {key} differs from docker-compose.yml's silo.");
            }
        }
        // Every silo has its own silo port, gateway and HTTP port (defaults, each overridable).
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, p => Assert.Matches(@"^\$\{GRANTSILO_(SILO|GATEWAY|HTTP)[1-4]_PORT:-\d+\}$", p));
    }

    [Fact]
    public void EverySilo_RunsWithAReadOnlyRootFilesystem_NoCapabilities_AndNoPrivilegeGain()
    {
        // Compose: every silo service of both files, as the engine would merge it.
        var silos = new[] { "docker-compose.yml", "compose.loopback.yml" }
            .SelectMany(file => ((YamlMappingNode)Compose(file)["services"]).Children
                .Where(p => ((YamlScalarNode)p.Key).Value!.StartsWith("silo", StringComparison.Ordinal))
                .Select(p => ($"{file}: {((YamlScalarNode)p.Key).Value}", Merged((YamlMappingNode)p.Value))))
            .ToList();
        Assert.Equal(5, silos.Count);
        foreach (var (name, silo) in silos)
        {
            Assert.True(Scalar(silo, "read_only") == "true", $"{name} has a writable root filesystem.");
            Assert.Equal(["/tmp"], Sequence(silo, "tmpfs"));
            Assert.Equal(["ALL"], Sequence(silo, "cap_drop"));
            Assert.Contains("no-new-privileges:true", Sequence(silo, "security_opt"));
            Assert.DoesNotContain(new YamlScalarNode("cap_add"), silo.Children.Keys);
            Assert.DoesNotContain(new YamlScalarNode("privileged"), silo.Children.Keys);
            Assert.DoesNotContain(new YamlScalarNode("user"), silo.Children.Keys);
        }

        // Kubernetes: the pod runs as the image's non-root user, and its container likewise.
        var deployment = KubernetesDocuments("deployment.yaml").Single(d => Scalar(d, "kind") == "Deployment");
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"])["spec"];
        var podSecurity = (YamlMappingNode)pod["securityContext"];
        Assert.Equal("true", Scalar(podSecurity, "runAsNonRoot"));
        Assert.Equal("1654", Scalar(podSecurity, "runAsUser"));
        Assert.Equal("RuntimeDefault", Scalar((YamlMappingNode)podSecurity["seccompProfile"], "type"));
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children.Single();
        var security = (YamlMappingNode)container["securityContext"];
        Assert.Equal("false", Scalar(security, "allowPrivilegeEscalation"));
        Assert.Equal("true", Scalar(security, "readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], Sequence((YamlMappingNode)security["capabilities"], "drop"));
        Assert.DoesNotContain(new YamlScalarNode("privileged"), security.Children.Keys);
        // Only /tmp is writable; every other volume is mounted read-only.
        foreach (var mount in ((YamlSequenceNode)container["volumeMounts"]).Children.Cast<YamlMappingNode>())
        {
            Assert.True(Scalar(mount, "mountPath") == "/tmp" || Scalar(mount, "readOnly") == "true", $"{Scalar(mount, "mountPath")} is mounted writable.");
        }
        // No Service exposes the silos beyond the cluster; the HTTP API is reached through an ingress of the operator's.
        foreach (var service in KubernetesDocuments("services.yaml").Where(d => Scalar(d, "kind") == "Service"))
        {
            Assert.Equal("ClusterIP", Scalar((YamlMappingNode)service["spec"], "type"));
        }
    }

    [Fact]
    public void TheNetworkPolicy_LetsOnlySilosReachTheSiloPort_AndNamedClientsTheGateway()
    {
        var deployment = KubernetesDocuments("deployment.yaml").Single(d => Scalar(d, "kind") == "Deployment");
        var template = (YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"];
        var podLabels = Labels((YamlMappingNode)((YamlMappingNode)template["metadata"])["labels"]);
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)template["spec"])["containers"]).Children.Single();
        var containerPorts = ((YamlSequenceNode)container["ports"]).Children.Cast<YamlMappingNode>().ToDictionary(p => Scalar(p, "name")!, p => Scalar(p, "containerPort")!);

        var policy = KubernetesDocuments("networkpolicy.yaml").Single(d => Scalar(d, "kind") == "NetworkPolicy");
        var spec = (YamlMappingNode)policy["spec"];
        // It applies to the silo pods, and to their ingress.
        var selected = Labels((YamlMappingNode)((YamlMappingNode)spec["podSelector"])["matchLabels"]);
        Assert.All(selected, label => Assert.Equal(label.Value, podLabels.GetValueOrDefault(label.Key)));
        Assert.Equal(["Ingress"], Sequence(spec, "policyTypes"));

        var rules = ((YamlSequenceNode)spec["ingress"]).Children.Cast<YamlMappingNode>().ToList();
        List<YamlMappingNode> RulesFor(string port) => [.. rules.Where(r => ((YamlSequenceNode)r["ports"]).Children.Cast<YamlMappingNode>().Any(p => Scalar(p, "port") == port))];
        // Every port the silo listens on is reachable by some rule (a port no rule names would be refused to everyone).
        Assert.All(containerPorts.Values, port => Assert.NotEmpty(RulesFor(port)));

        // The silo port: one rule, from pods carrying the silo pods' own labels only.
        var siloRule = Assert.Single(RulesFor(containerPorts["silo"]));
        var siloPeers = Assert.Single(((YamlSequenceNode)siloRule["from"]).Children.Cast<YamlMappingNode>());
        Assert.False(siloPeers.Children.ContainsKey(new YamlScalarNode("namespaceSelector")), "the silo port is open to other namespaces.");
        Assert.False(siloPeers.Children.ContainsKey(new YamlScalarNode("ipBlock")), "the silo port is open to addresses.");
        Assert.Equal(selected, Labels((YamlMappingNode)((YamlMappingNode)siloPeers["podSelector"])["matchLabels"]));

        // The gateway: one rule, from pods that carry the client label (never from everyone).
        var gatewayRule = Assert.Single(RulesFor(containerPorts["gateway"]));
        var gatewayPeers = Assert.Single(((YamlSequenceNode)gatewayRule["from"]).Children.Cast<YamlMappingNode>());
        Assert.Equal("true", Labels((YamlMappingNode)((YamlMappingNode)gatewayPeers["podSelector"])["matchLabels"]).GetValueOrDefault("grantsilo.io/gateway-client"));
        Assert.False(gatewayPeers.Children.ContainsKey(new YamlScalarNode("ipBlock")), "the gateway is open to addresses.");
        Assert.DoesNotContain(rules, r => r != siloRule && ((YamlSequenceNode)r["ports"]).Children.Cast<YamlMappingNode>().Any(p => Scalar(p, "port") == containerPorts["silo"]));
    }

    private static Dictionary<string, string> Labels(YamlMappingNode node) =>
        node.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value!);

    [Fact]
    public void TheCallKey_ReachesEverySilo_AsAFileFromItsSecret_NeverInTheEnvironment()
    {
        // Compose: every silo of both files reads it from the mounted certificates' folder.
        foreach (var file in new[] { "docker-compose.yml", "compose.loopback.yml" })
        {
            foreach (var (key, service) in ((YamlMappingNode)Compose(file)["services"]).Children.Where(p => ((YamlScalarNode)p.Key).Value!.StartsWith("silo", StringComparison.Ordinal)))
            {
                var environment = Environment(Merged((YamlMappingNode)service));
                var name = $"{file}: {((YamlScalarNode)key).Value}";
                Assert.False(environment.ContainsKey("GrantSilo__Cluster__CallKey"), $"{name} puts the call key in the environment.");
                Assert.True(environment.TryGetValue("GrantSilo__Cluster__CallKeyFile", out var path) && path == "/certs/call-key", $"{name} does not read the call key from /certs/call-key.");
            }
        }

        // Kubernetes: from the grantsilo-cluster Secret, mounted read-only; no Secret's value is put in the environment
        // except the storage connection string, which Orleans' Azure providers take only as a setting.
        var deployment = KubernetesDocuments("deployment.yaml").Single(d => Scalar(d, "kind") == "Deployment");
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"])["spec"];
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children.Single();
        var variables = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>().ToList();
        Assert.DoesNotContain(variables, v => Scalar(v, "name") == "GrantSilo__Cluster__CallKey");
        var fromSecrets = variables.Where(v => v.Children.TryGetValue(new YamlScalarNode("valueFrom"), out var from) && ((YamlMappingNode)from).Children.ContainsKey(new YamlScalarNode("secretKeyRef")));
        Assert.Equal(["GrantSilo__Storage__ConnectionString"], fromSecrets.Select(v => Scalar(v, "name")!));
        var keyFile = Scalar(variables.Single(v => Scalar(v, "name") == "GrantSilo__Cluster__CallKeyFile"), "value")!;
        var mount = ((YamlSequenceNode)container["volumeMounts"]).Children.Cast<YamlMappingNode>().Single(m => keyFile.StartsWith(Scalar(m, "mountPath") + "/", StringComparison.Ordinal));
        Assert.Equal("true", Scalar(mount, "readOnly"));
        var volume = ((YamlSequenceNode)pod["volumes"]).Children.Cast<YamlMappingNode>().Single(v => Scalar(v, "name") == Scalar(mount, "name"));
        Assert.Equal("grantsilo-cluster", Scalar((YamlMappingNode)volume["secret"], "secretName"));
        Assert.Equal("call-key", Path.GetFileName(keyFile));
    }

    private static List<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? [.. ((YamlSequenceNode)value).Children.Select(c => ((YamlScalarNode)c).Value!)] : [];

    private static List<YamlMappingNode> KubernetesDocuments(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(Repository.Read($"deploy/kubernetes/{file}"));
        yaml.Load(reader);
        return [.. yaml.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    [Fact]
    public void Dockerfile_CopiesEveryProjectTheSiloHostIsBuiltFrom_AndRunsItsAssembly()
    {
        var lines = DockerfileInstructions();

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

        var publish = lines.Single(l => l.StartsWith("RUN ", StringComparison.Ordinal) && l.Contains(" dotnet publish ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var project = publish[Array.IndexOf(publish, "publish") + 1];
        Assert.True(File.Exists(Repository.PathOf(project)), $"The Dockerfile publishes {project}, which does not exist.");

        // Every project the silo host references, directly or not, is inside something copied.
        foreach (var reference in ProjectClosure(Repository.PathOf(project)))
        {
            var relative = Path.GetRelativePath(Repository.Root, reference).Replace('\\', '/');
            Assert.True(copied.Any(c => relative.StartsWith(c + "/", StringComparison.Ordinal)), $"{relative} is needed to build {project} but the Dockerfile does not copy it.");
        }

        var assembly = XDocument.Load(Repository.PathOf(project)).Descendants("AssemblyName").Single().Value;
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{assembly}.dll\"]", lines);
        Assert.Equal(["FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", "FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime"], lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Dockerfile_RunsAsNonRoot_ChecksReadiness_AndStopsOnSigterm()
    {
        var lines = DockerfileInstructions();
        var runtime = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet", StringComparison.Ordinal)).ToList();
        // The base image's non-root user, set before the entry point.
        Assert.Equal("USER $APP_UID", runtime.Last(l => l.StartsWith("USER ", StringComparison.Ordinal)));
        Assert.True(runtime.FindIndex(l => l.StartsWith("USER ", StringComparison.Ordinal)) < runtime.FindIndex(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)));
        Assert.Contains("STOPSIGNAL SIGTERM", runtime);
        var health = runtime.Single(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.EndsWith("CMD [\"dotnet\", \"GrantSilo.SiloHost.dll\", \"--probe\", \"ready\"]", health, StringComparison.Ordinal);
        // The probe asks the HTTP API, which the image turns on (it is off by default in the AzureTable profile).
        Assert.Contains(runtime, l => l.Contains("GrantSilo__Http__Enabled=true", StringComparison.Ordinal));
        Assert.Contains(runtime, l => l.Contains("GrantSilo__Tls__Enabled=true", StringComparison.Ordinal));
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
        // The process tests give the key-encryption key inline, with the rest of the test identity
        // (TestIdentity.SiloEnvironment); the page gives it as the file scripts/dev-certs.sh writes.
        var known = expected.Select(p => p.Key).Concat(["Workload__HistoryPath", "Workload__Duration", "Workload__Concurrency", "Workload__CallDeadline", "Workload__IdentityKeyFile", "GrantSilo__Keys__KeyEncryptionKeyFile"]).ToHashSet();
        Assert.All(assignments, a => Assert.Contains(a.Key, known));
    }

    // One entry per instruction, continuation lines (ending in a backslash) joined, comments left out.
    private static List<string> DockerfileInstructions() =>
        [.. Repository.Read("Dockerfile").Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => Regex.Replace(l.Trim(), @"\s+", " ")).Where(l => l.Length > 0 && !l.StartsWith('#'))];

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
