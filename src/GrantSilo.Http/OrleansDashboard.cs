using System.ComponentModel.DataAnnotations;
using GrantSilo.Grains.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace GrantSilo.Http;

/// <summary>Orleans' own dashboard, co-hosted with the HTTP API for operators. Bound from <c>GrantSilo:Dashboard</c>.</summary>
public sealed class OrleansDashboardOptions
{
    public const string SectionName = "GrantSilo:Dashboard";

    /// <summary>The role a caller must hold to see the dashboard.</summary>
    public const string Role = "operator";

    /// <summary>Whether the silo serves the dashboard (default off). Needs the HTTP API.</summary>
    public bool Enabled { get; set; }

    /// <summary>Where it is served (default <c>/dashboard</c>).</summary>
    [RegularExpression("^/[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", ErrorMessage = "GrantSilo:Dashboard:Path must be an absolute path of letters, digits, '-' and '_' (for example /dashboard).")]
    public string Path { get; set; } = "/dashboard";

    /// <summary>
    /// Whether the dashboard's live log stream is offered (default off: the silo's log is for the silo's operators'
    /// log pipeline, and a browser tab that follows it is one more place it is read).
    /// </summary>
    public bool LiveLog { get; set; }
}

/// <summary>
/// Serves the Orleans Dashboard to callers with the operator role, and to no one else. The dashboard reads the
/// cluster's own statistics grains, which no outside caller may call (the door refuses them): a request that has
/// proved an operator's token is served as the cluster's own, and every other request is refused before any of the
/// dashboard's code runs.
/// </summary>
public static partial class GrantSiloDashboard
{
    /// <summary>Reads <c>GrantSilo:Dashboard</c>; null when the dashboard is off.</summary>
    public static OrleansDashboardOptions? Configured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new OrleansDashboardOptions();
        configuration.GetSection(OrleansDashboardOptions.SectionName).Bind(options);
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(OrleansDashboardOptions.SectionName, typeof(OrleansDashboardOptions), errors.Select(e => e.ErrorMessage ?? $"{OrleansDashboardOptions.SectionName} is invalid"));
        }
        return options.Enabled ? options : null;
    }

    /// <summary>Adds the dashboard's statistics to the silo (only when <paramref name="options"/> turns it on).</summary>
    public static ISiloBuilder AddGrantSiloDashboard(this ISiloBuilder silo, OrleansDashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(options);
        silo.AddDashboard(dashboard => dashboard.HideTrace = !options.LiveLog);
        silo.Services.AddSingleton(Options.Create(options));
        return silo;
    }

    /// <summary>Maps the dashboard under its path, for operators only. Call after <see cref="GrantSiloHttp.UseGrantSiloHttpApi"/>.</summary>
    public static WebApplication MapGrantSiloDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<OrleansDashboardOptions>>().Value;
        app.MapOrleansDashboard(routePrefix: options.Path).WithMetadata(OperatorsOnly.Instance).ExcludeFromDescription();
        return app;
    }

    // Runs after routing and authentication (UseGrantSiloHttpApi places it): a dashboard endpoint is served only to an
    // operator, and then outside the outside-call scope, so its reads of the cluster's statistics grains are the
    // cluster's own. Anything that is not a dashboard endpoint passes untouched.
    internal static Task DoorAsync(HttpContext http, RequestDelegate next) =>
        // Every other request passes straight through, without a state machine of its own.
        http.GetEndpoint()?.Metadata.GetMetadata<OperatorsOnly>() is null ? next(http) : OperatorsOnlyAsync(http, next);

    private static async Task OperatorsOnlyAsync(HttpContext http, RequestDelegate next)
    {
        if (HttpCaller.Of(http) is not { } caller)
        {
            await Problems.Unauthenticated("The dashboard is for operators: send Authorization: Bearer <token> (grantctl dashboard does it for a browser).").ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        if (!caller.Caller.Roles.Contains(OrleansDashboardOptions.Role))
        {
            LogRefused(http.RequestServices.GetRequiredService<ILogger<OrleansDashboardOptions>>(), caller.Caller.Name);
            await Problems.From(new GrantError(GrantErrorCode.Forbidden, $"The dashboard is for callers with the '{OrleansDashboardOptions.Role}' role.")).ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        using var cluster = OutsideCalls.Leave();
        await next(http).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = (int)LogEvents.DashboardRefused, Level = LogLevel.Warning, Message = "The dashboard refused {Caller}: not an operator")]
    private static partial void LogRefused(ILogger logger, string caller);

    private sealed class OperatorsOnly
    {
        public static readonly OperatorsOnly Instance = new();
    }
}
