using Microsoft.AspNetCore.Mvc;
using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Threading.RateLimiting;
using GrantSilo.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http;

/// <summary>Co-hosts GrantSilo's HTTP API with a silo: <see cref="AddGrantSiloHttpApi"/>, then <see cref="UseGrantSiloHttpApi"/>.</summary>
public static partial class GrantSiloHttp
{
    /// <summary>The rate limiter policy of every API route: a token bucket per caller.</summary>
    public const string RateLimitPolicy = "grantsilo-per-caller";

    /// <summary>The OpenAPI document's name (served at <c>/openapi/v1.json</c>).</summary>
    public const string DocumentName = "v1";

    /// <summary>
    /// Registers the HTTP API and configures Kestrel from <c>GrantSilo:Http</c>: plain HTTP on loopback, or HTTPS with the
    /// certificate of <c>GrantSilo:Tls</c> when TLS is on there (required to listen beyond loopback). Body size, request
    /// timeout and a per-caller rate limit apply to every route.
    /// </summary>
    /// <summary>The configuration section of DPoP proof checks (<c>GrantSilo:Dpop</c>).</summary>
    public const string DpopOptionsSection = GrantSilo.Identity.Tokens.DpopOptions.SectionName;

    public static HttpApiOptions AddGrantSiloHttpApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Bind(builder.Configuration);
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton<HttpGrantClient>();
        builder.Services.AddSingleton<CredentialDoor>();
        builder.Services.AddSingleton<StreamSlots>();
        builder.Services.ConfigureHttpJsonOptions(json => HttpJson.Apply(json.SerializerOptions));
        // ASP.NET Core's own messages below Warning quote request paths and request lines: a caller who puts a token in
        // a URL must not have it written to the silo's log. So they stay at Warning and above, however logging is
        // configured (GrantSilo logs requests it refuses itself, by route; traces name routes, never paths).
        builder.Services.PostConfigure<LoggerFilterOptions>(logging =>
        {
            for (var i = 0; i < logging.Rules.Count; i++)
            {
                var rule = logging.Rules[i];
                if (rule.CategoryName?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true && rule.LogLevel is < LogLevel.Warning)
                {
                    logging.Rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, LogLevel.Warning, rule.Filter);
                }
            }
            // For every provider too: a provider's own rule is chosen before any rule for all providers.
            foreach (var provider in logging.Rules.Select(r => r.ProviderName).Distinct().ToList())
            {
                logging.Rules.Add(new LoggerFilterRule(provider, "Microsoft.AspNetCore", LogLevel.Warning, null));
            }
            if (!logging.Rules.Any(r => r.ProviderName is null && r.CategoryName == "Microsoft.AspNetCore"))
            {
                logging.Rules.Add(new LoggerFilterRule(null, "Microsoft.AspNetCore", LogLevel.Warning, null));
            }
        });

        // ASP.NET Core's own switch for forwarded headers trusts X-Forwarded-For and X-Forwarded-Proto from every caller
        // (it clears the known proxies): anyone could then choose the address the per-address limit counts and the scheme
        // HSTS and cookies are judged by. GrantSilo reads no forwarded header; a proxy in front terminates TLS itself.
        if (string.Equals(builder.Configuration[ForwardedHeadersSwitch], "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new OptionsValidationException(HttpApiOptions.SectionName, typeof(HttpApiOptions),
                ["ASPNETCORE_FORWARDEDHEADERS_ENABLED=true would trust X-Forwarded-For and X-Forwarded-Proto from any caller; GrantSilo reads no forwarded headers (docs/operations.md, \"Behind a proxy\"): remove the setting."]);
        }
        var certificate = HttpsCertificate(builder.Configuration);
        if (certificate is null && options.ListenOnAnyHostAddress)
        {
            throw new OptionsValidationException(HttpApiOptions.SectionName, typeof(HttpApiOptions),
                [$"{HttpApiOptions.SectionName}:ListenOnAnyHostAddress needs HTTPS: plain HTTP is served on loopback only. Set GrantSilo:Tls:Enabled=true with a certificate (GrantSilo:Tls:CertificateFile; scripts/dev-certs.sh makes development ones), or listen on loopback."]);
        }
        // A page in a browser on this machine can reach a loopback-only API under a name its author controls, which
        // resolves to 127.0.0.1 once the page has loaded (DNS rebinding): the page is then same-origin with the API, reads
        // what it answers and posts its forms; the console's development sign-in would hand it any role. So when nothing
        // listens beyond loopback, only loopback names are served (ASP.NET Core's host filtering answers any other 400),
        // unless AllowedHosts names the hosts that a proxy in front of the silo forwards.
        if (!options.ListenOnAnyHostAddress && !PrometheusBeyondLoopback(builder.Configuration) && string.IsNullOrWhiteSpace(builder.Configuration["AllowedHosts"]))
        {
            builder.Services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(hosts => hosts.AllowedHosts = [.. LoopbackHosts]);
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            var address = options.ListenOnAnyHostAddress ? IPAddress.Any : IPAddress.Loopback;
            kestrel.Listen(address, options.Port, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });

        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                problem.Type = problem.Status switch
                {
                    StatusCodes.Status404NotFound => Problems.NotFound,
                    StatusCodes.Status405MethodNotAllowed => Problems.TypePrefix + "method-not-allowed",
                    StatusCodes.Status413PayloadTooLarge => Problems.BodyTooLarge,
                    StatusCodes.Status415UnsupportedMediaType => Problems.UnsupportedMediaType,
                    >= 500 => Problems.Internal,
                    _ => Problems.TypePrefix + "invalid-request",
                };
            }
            // Whatever failed inside is logged on the silo, never described to the caller.
            if (context.Exception is not null)
            {
                problem.Detail = "GrantSilo failed to answer this request; it is logged on the silo. Retry, or tell the operator the traceId.";
            }
        });
        builder.Services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = options.RequestTimeout,
            TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            WriteTimeoutResponse = http => Problems.Of(StatusCodes.Status504GatewayTimeout, Problems.Timeout, "Request timeout",
                $"The request took longer than {options.RequestTimeout} (GrantSilo:Http:RequestTimeout); it may or may not have taken effect.").ExecuteAsync(http),
        });
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RateLimitPolicy, http => RateLimitPartition.GetTokenBucketLimiter(HttpCaller.PartitionOf(http), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.Burst,
                TokensPerPeriod = options.PermitsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
            limiter.OnRejected = (context, _) => Rejected(context, $"This caller sent more requests than it may (GrantSilo:Http:PermitsPerSecond {options.PermitsPerSecond}, Burst {options.Burst})");
        });
        builder.Services.AddOpenApi(DocumentName, openApi =>
        {
            openApi.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "GrantSilo HTTP API";
                document.Info.Description = "Access control for AI agents: the /v1 API, the AuthZEN Authorization API 1.0 and health. Errors are RFC 9457 problem details (docs/http-api.md).";
                return Task.CompletedTask;
            });
            // A scope is written by its own converter (ScopeJsonConverter): its wire shape, described by hand.
            openApi.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonTypeInfo.Type == typeof(Scope))
                {
                    schema.Type = Microsoft.OpenApi.JsonSchemaType.Object;
                    schema.Required = new HashSet<string>(StringComparer.Ordinal) { "permissions" };
                    schema.Properties = new Dictionary<string, Microsoft.OpenApi.IOpenApiSchema>(StringComparer.Ordinal)
                    {
                        ["permissions"] = new Microsoft.OpenApi.OpenApiSchema
                        {
                            Type = Microsoft.OpenApi.JsonSchemaType.Array,
                            Description = "Permissions written type:action:pattern (for example repo:read:acme/*).",
                            Items = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String },
                        },
                        ["maxClassification"] = new Microsoft.OpenApi.OpenApiSchema
                        {
                            Type = Microsoft.OpenApi.JsonSchemaType.String,
                            Description = "The highest data classification the holder may touch (default internal).",
                            Enum = [.. Enum.GetNames<DataClassification>().Select(n => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(n)))],
                        },
                        ["delegationDepth"] = new Microsoft.OpenApi.OpenApiSchema
                        {
                            Type = Microsoft.OpenApi.JsonSchemaType.Integer,
                            Description = "How many further delegation hops the holder may make (default 0).",
                            Minimum = "0",
                            Maximum = Scope.MaxDelegationDepth.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        },
                    };
                }
                return Task.CompletedTask;
            });
        });
        return options;
    }

    private static ValueTask Rejected(OnRejectedContext context, string what)
    {
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ValueTask(Problems.Of(StatusCodes.Status429TooManyRequests, Problems.RateLimited, "Too many requests", $"{what}; retry after {seconds} s.").ExecuteAsync(context.HttpContext));
    }

    /// <summary>A silo host without the HTTP API: no server starts, so no port opens (not even Kestrel's default).</summary>
    public static WebApplicationBuilder WithoutHttpApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Hosting.Server.IServer, NoServer>();
        return builder;
    }

    private sealed class NoServer : Microsoft.AspNetCore.Hosting.Server.IServer
    {
        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public Task StartAsync<TContext>(Microsoft.AspNetCore.Hosting.Server.IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    /// <summary>The API's middleware and routes. Call it first, before anything else handles requests.</summary>
    public static WebApplication UseGrantSiloHttpApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // First of all: every request is served in an outside-call scope, so no grain call made for it passes the
        // silo's door as the cluster's own; then the bearer token, if any, is verified.
        app.Use(HttpCaller.OutsideCallAsync);
        // The metrics port serves the metrics and nothing else: the API is never reachable there.
        if (app.Services.GetService<IOptions<TelemetryOptions>>()?.Value.PrometheusPort is { } metricsPort)
        {
            app.Use((http, next) => http.Connection.LocalPort == metricsPort && !http.Request.Path.Equals("/metrics", StringComparison.Ordinal)
                ? Problems.Of(StatusCodes.Status404NotFound, Problems.NotFound, "Not Found", "This port serves /metrics only.").ExecuteAsync(http)
                : next(http));
        }
        var options = app.Services.GetRequiredService<IOptions<HttpApiOptions>>().Value;
        if (options.HstsMaxAge > TimeSpan.Zero)
        {
            var development = app.Environment.IsDevelopment();
            var header = "max-age=" + ((long)options.HstsMaxAge.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            app.Use((HttpContext http, RequestDelegate next) => StrictTransportSecurity(http, next, header, development));
        }
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Per remote address, before any token is verified: verifying costs a signature check, and the per-caller limit
        // below can only be applied once the caller is known.
        app.UseRateLimiter(new RateLimiterOptions
        {
            RejectionStatusCode = StatusCodes.Status429TooManyRequests,
            GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http => RateLimitPartition.GetTokenBucketLimiter(HttpCaller.AddressOf(http), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.AddressBurst,
                TokensPerPeriod = options.AddressPermitsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            })),
            OnRejected = (context, _) => Rejected(context, $"This address sent more requests than it may (GrantSilo:Http:AddressPermitsPerSecond {options.AddressPermitsPerSecond}, AddressBurst {options.AddressBurst})"),
        });
        app.Use(HttpCaller.AuthenticateAsync);
        app.UseRouting();
        // The Orleans Dashboard's routes (when it is on) are for operators only.
        app.Use(GrantSiloDashboard.DoorAsync);
        app.UseRateLimiter();
        app.UseRequestTimeouts();

        ApiEndpoints.Map(app);
        AuthZenEndpoints.Map(app);
        AuditEndpoints.Map(app);
        HealthEndpoints.Map(app);
        KeySetEndpoint.Map(app);
        OAuthEndpoints.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        if (app.Environment.IsDevelopment())
        {
            // An interactive reference page over the OpenAPI document, in Development only (its assets are served
            // from the package, nothing from elsewhere).
            app.UseSwaggerUI(ui =>
            {
                ui.RoutePrefix = "reference";
                ui.DocumentTitle = "GrantSilo HTTP API";
                ui.SwaggerEndpoint($"/openapi/{DocumentName}.json", "GrantSilo v1");
            });
        }
        return app;
    }

    /// <summary>
    /// True when the API is served over plain HTTP (no certificate in <c>GrantSilo:Tls</c>, so on loopback only) in the
    /// Development environment: the one case where the console's cookies go without <c>Secure</c> and the
    /// <c>__Host-</c> prefix. Anywhere else the browser is taken to reach the silo over HTTPS (its own certificate, or a
    /// proxy in front that terminates TLS), whatever scheme the silo itself sees.
    /// </summary>
    public static bool IsPlainHttpDevelopment(IConfiguration configuration, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);
        var tls = new GrantSiloTlsOptions();
        configuration.GetSection(GrantSiloTlsOptions.SiloSectionName).Bind(tls);
        return !(tls.Enabled == true && tls.HasCertificate) && environment.IsDevelopment();
    }

    // ASP.NET Core's configuration key of ASPNETCORE_FORWARDEDHEADERS_ENABLED.
    private const string ForwardedHeadersSwitch = "ForwardedHeaders_Enabled";

    // HSTS on every HTTPS answer (errors and refusals included: set as the answer starts), but not to a loopback name in
    // Development, where a browser would otherwise keep to HTTPS for every other local server on localhost.
    private static Task StrictTransportSecurity(HttpContext http, RequestDelegate next, string header, bool development)
    {
        if (http.Request.IsHttps && !(development && LoopbackHosts.Contains(http.Request.Host.Host, StringComparer.OrdinalIgnoreCase)))
        {
            http.Response.OnStarting(() =>
            {
                http.Response.Headers.StrictTransportSecurity = header;
                return Task.CompletedTask;
            });
        }
        return next(http);
    }

    // The host names a loopback-only API answers to unless AllowedHosts is configured.
    private static readonly string[] LoopbackHosts = ["127.0.0.1", "localhost", "[::1]"];

    private static bool PrometheusBeyondLoopback(IConfiguration configuration)
    {
        var telemetry = configuration.GetSection(TelemetryOptions.SectionName);
        return telemetry.GetValue<int?>(nameof(TelemetryOptions.PrometheusPort)) is not null && telemetry.GetValue<bool>(nameof(TelemetryOptions.PrometheusListenOnAnyHostAddress));
    }

    private static HttpApiOptions Bind(IConfiguration configuration)
    {
        var options = new HttpApiOptions();
        configuration.GetSection(HttpApiOptions.SectionName).Bind(options);
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(HttpApiOptions.SectionName, typeof(HttpApiOptions), errors.Select(e => e.ErrorMessage ?? $"{HttpApiOptions.SectionName} is invalid"));
        }
        return options;
    }

    // HTTPS uses the silo's own certificate (GrantSilo:Tls) when TLS is on there.
    private static System.Security.Cryptography.X509Certificates.X509Certificate2? HttpsCertificate(IConfiguration configuration)
    {
        var tls = new GrantSiloTlsOptions();
        configuration.GetSection(GrantSiloTlsOptions.SiloSectionName).Bind(tls);
        if (tls.Enabled != true || !tls.HasCertificate)
        {
            return null;
        }
        return GrantSiloTlsCredentials.Load(tls, GrantSiloTlsOptions.SiloSectionName, GrantSiloTlsRole.Silo).Certificate;
    }
}

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c>: the silo has started, is not stopping, and can
/// answer calls now (<see cref="GrantSilo.Grains.Hosting.SiloReadiness"/>: its silo lease is valid and a new grain
/// activated on it answers, which it cannot while the grain directory holds a dead silo's grains after a restart).
/// </summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        health.MapGet("/live", () => TypedResults.Json(new HealthStatus { Status = "live" }, HttpJson.Options))
            .WithName("Live").WithSummary("The process is up.").Produces<HealthStatus>();
        health.MapGet("/ready", async ([FromServices] IHostApplicationLifetime lifetime, [FromServices] GrantSilo.Grains.Hosting.SiloReadiness readiness) =>
            {
                if (!lifetime.ApplicationStarted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    return Problems.Of(StatusCodes.Status503ServiceUnavailable, Problems.TypePrefix + "not-ready", "Not ready", "The silo is starting or stopping.");
                }
                var reason = await readiness.CurrentAsync();
                return reason is null
                    ? TypedResults.Json(new HealthStatus { Status = "ready" }, HttpJson.Options)
                    : Problems.Of(StatusCodes.Status503ServiceUnavailable, Problems.TypePrefix + "not-ready", "Not ready", $"The silo cannot answer calls yet: {reason}.");
            })
            .WithName("Ready").WithSummary("The silo has started, is not stopping, and can answer calls now.").Produces<HealthStatus>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>A health answer.</summary>
public sealed record HealthStatus
{
    public required string Status { get; init; }
}
