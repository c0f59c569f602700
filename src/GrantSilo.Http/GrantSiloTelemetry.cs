using System.ComponentModel.DataAnnotations;
using System.Net;
using GrantSilo.Grains.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GrantSilo.Http;

/// <summary>Telemetry of a silo host. Bound from <c>GrantSilo:Telemetry</c>; everything is off unless configured.</summary>
public sealed class TelemetryOptions : IValidatableObject
{
    public const string SectionName = "GrantSilo:Telemetry";

    /// <summary>
    /// An OTLP collector (for example <c>http://127.0.0.1:4317</c>) to which traces and metrics are exported. Traces carry
    /// Orleans' own activities, so one trace follows an HTTP request into the grains it calls. Unset: no export.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>
    /// How OTLP is sent: <c>grpc</c> (the default; a collector's port 4317) or <c>http/protobuf</c> (port 4318; the
    /// signal's path, <c>/v1/traces</c> or <c>/v1/metrics</c>, is added to <see cref="OtlpEndpoint"/>).
    /// </summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often metrics are exported over OTLP (default 30 s; traces are sent in batches as they end).</summary>
    public TimeSpan OtlpMetricsInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An OTLP collector to which every durable audit record is shipped as an OpenTelemetry log record (category
    /// <c>GrantSilo.Audit.Records</c>; docs/audit.md, "Shipping to a SIEM"). Only audit records go there. Unset: none.
    /// </summary>
    public string? AuditLogsOtlpEndpoint { get; set; }

    /// <summary>A port on which GrantSilo's metrics are served for Prometheus to scrape (<c>/metrics</c>). Unset: none.</summary>
    [Range(1, 65535, ErrorMessage = "GrantSilo:Telemetry:PrometheusPort must be a TCP port between 1 and 65535.")]
    public int? PrometheusPort { get; set; }

    /// <summary>Serve the Prometheus endpoint on every interface rather than loopback only (it holds counts, never ids or tokens).</summary>
    public bool PrometheusListenOnAnyHostAddress { get; set; }

    /// <summary>The service name telemetry is reported under.</summary>
    public string ServiceName { get; set; } = "grantsilo";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OtlpEndpoint is { Length: > 0 } endpoint && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(OtlpEndpoint)} must be an absolute URL (for example http://127.0.0.1:4317).", [nameof(OtlpEndpoint)]);
        }
        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(OtlpProtocol)} '{OtlpProtocol}' is not known: use grpc (the default) or http/protobuf.", [nameof(OtlpProtocol)]);
        }
        if (OtlpMetricsInterval < TimeSpan.FromSeconds(1) || OtlpMetricsInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(OtlpMetricsInterval)} must be between 00:00:01 and 01:00:00.", [nameof(OtlpMetricsInterval)]);
        }
        if (AuditLogsOtlpEndpoint is { Length: > 0 } audit && !Uri.TryCreate(audit, UriKind.Absolute, out _))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(AuditLogsOtlpEndpoint)} must be an absolute URL (for example http://otel-collector:4317).", [nameof(AuditLogsOtlpEndpoint)]);
        }
    }
}

/// <summary>OpenTelemetry for a silo host: GrantSilo's, ASP.NET Core's and Orleans' metrics and traces (<c>GrantSilo:Telemetry</c>).</summary>
public static class GrantSiloTelemetry
{
    /// <summary>The activity sources traced: the HTTP API's requests and Orleans' grain calls.</summary>
    public static readonly string[] ActivitySources = ["Microsoft.AspNetCore", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>The meters exported: GrantSilo's (decisions by kind and reason, pending cascades, lease waits, approvals waiting) and the hosts'.</summary>
    public static readonly string[] Meters = [GrantSiloMetrics.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// Registers OpenTelemetry when an exporter is configured: OTLP for traces and metrics, and a Prometheus scrape endpoint
    /// on its own port (mapped by <see cref="MapGrantSiloTelemetry"/>). The silo must propagate activities
    /// (<c>AddActivityPropagation</c>, which GrantSilo's silo profiles add) for a trace to cross grain calls.
    /// </summary>
    public static TelemetryOptions AddGrantSiloTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new TelemetryOptions();
        builder.Configuration.GetSection(TelemetryOptions.SectionName).Bind(options);
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(TelemetryOptions.SectionName, typeof(TelemetryOptions), errors.Select(e => e.ErrorMessage ?? $"{TelemetryOptions.SectionName} is invalid"));
        }
        builder.Services.AddSingleton(Options.Create(options));
        if (options.AuditLogsOtlpEndpoint is { Length: > 0 } auditLogs)
        {
            // The audit records, and nothing else, as OpenTelemetry log records to the collector (which ships them to a SIEM).
            var collector = new Uri(auditLogs);
            builder.Services.PostConfigure<GrantSilo.Grains.Audit.AuditOptions>(audit => audit.LogRecords = true);
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(options.ServiceName));
                logging.AddOtlpExporter(exporter => exporter.Endpoint = collector);
            });
            builder.Logging.AddFilter<OpenTelemetry.Logs.OpenTelemetryLoggerProvider>((category, level) => category == GrantSilo.Grains.Audit.AuditJournal.RecordsCategory && level >= Microsoft.Extensions.Logging.LogLevel.Information);
            builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(GrantSilo.Grains.Audit.AuditJournal.RecordsCategory, Microsoft.Extensions.Logging.LogLevel.None);
        }
        var otlp = options.OtlpEndpoint is { Length: > 0 } endpoint ? new Uri(endpoint) : null;
        if (otlp is null && options.PrometheusPort is null)
        {
            return options;
        }
        var telemetry = builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(options.ServiceName));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(Meters);
            if (otlp is not null)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    Otlp(exporter, otlp, options, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.OtlpMetricsInterval.TotalMilliseconds;
                });
            }
            if (options.PrometheusPort is not null)
            {
                metrics.AddPrometheusExporter();
            }
        });
        if (otlp is not null)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(ActivitySources)
                // A request's span is named by its route and carries method, route and status. Never its path or query:
                // an id is all a path should hold, but a caller who puts a token in one must not see it exported.
                .AddAspNetCoreInstrumentation(aspNetCore =>
                {
                    aspNetCore.RecordException = false;
                    aspNetCore.EnrichWithHttpRequest = (activity, _) =>
                    {
                        activity.SetTag("url.path", null);
                        activity.SetTag("url.query", null);
                    };
                    aspNetCore.EnrichWithHttpResponse = (activity, _) =>
                    {
                        activity.SetTag("url.path", null);
                        activity.SetTag("url.query", null);
                    };
                })
                .AddOtlpExporter(exporter => Otlp(exporter, otlp, options, "v1/traces")));
        }
        if (options.PrometheusPort is { } port)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(options.PrometheusListenOnAnyHostAddress ? IPAddress.Any : IPAddress.Loopback, port));
        }
        return options;
    }

    private static void Otlp(OpenTelemetry.Exporter.OtlpExporterOptions exporter, Uri endpoint, TelemetryOptions options, string signalPath)
    {
        if (options.OtlpProtocol == "http/protobuf")
        {
            exporter.Protocol = OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf;
            // Set in code, the endpoint is used as it is: the signal's path is added here, as a collector expects.
            exporter.Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath);
        }
        else
        {
            exporter.Protocol = OpenTelemetry.Exporter.OtlpExportProtocol.Grpc;
            exporter.Endpoint = endpoint;
        }
    }

    /// <summary>The Prometheus scrape endpoint, <c>/metrics</c>, on its own port only (never on the API's).</summary>
    public static WebApplication MapGrantSiloTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusPort is { } port)
        {
            // Decided by the port the connection came in on, never by the Host header (a route's RequireHost matches the
            // header, which the caller writes): on the API's port, /metrics is no route at all, whatever Host names.
            app.UseOpenTelemetryPrometheusScrapingEndpoint(http => http.Connection.LocalPort == port && http.Request.Path.Equals("/metrics", StringComparison.Ordinal));
        }
        return app;
    }
}
