using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Hosting;

/// <summary>Bounds on the Orleans messages a silo reads and writes. Bound from <c>GrantSilo:Messaging</c>.</summary>
public sealed class GrantSiloMessagingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Messaging";

    /// <summary>
    /// The largest message header a silo reads or writes, in bytes (default 32 KiB; Orleans' own default is 10 MiB). A
    /// header carries a call's request context, the caller's token among it (at most 16 KiB), and a silo reads it, from
    /// any client that connects to its gateway, before any token is checked: a larger one closes the connection. Request
    /// context values are deserialized as any object, and Orleans' deserializer has no depth limit, so this bound is
    /// also what keeps a header from nesting deep enough to exhaust a thread's stack.
    /// </summary>
    [Range(20 * 1024, 10 * 1024 * 1024, ErrorMessage = "GrantSilo:Messaging:MaxMessageHeaderBytes must be between 20480 (a caller token of 16 KiB must fit) and 10485760.")]
    public int MaxMessageHeaderBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// How deeply objects may nest in a message a client sends to the silo's gateway (default 64). Orleans' deserializer
    /// reads a nested object with a nested call and has no limit of its own, and a silo's gateway reads a message, header
    /// and body, before any token is checked: a message of a few tens of kilobytes nested deeper than a thread's stack
    /// allows would end the process. Every frame a client sends is walked first, without recursion, and a connection
    /// that sends one nested deeper than this (or a malformed one) is closed before Orleans reads it. GrantSilo's own
    /// requests nest fewer than 16 levels.
    /// </summary>
    [Range(16, 1024, ErrorMessage = "GrantSilo:Messaging:MaxMessageDepth must be between 16 (GrantSilo's own requests must fit) and 1024 (deeper risks the stack the guard protects).")]
    public int MaxMessageDepth { get; set; } = 64;
}

/// <summary>Puts <see cref="GrantSilo.Grains.Gateway.GatewayFrameGuard"/> on the gateway's client connections, after (inside) any TLS.</summary>
internal sealed class GatewayGuardPlacement(GrantSilo.Grains.Gateway.GatewayFrameGuard guard) : IPostConfigureOptions<Orleans.Configuration.SiloConnectionOptions>
{
    // A post-configure step runs after every configure step, TLS's among them, so the guard is the innermost middleware.
    public void PostConfigure(string? name, Orleans.Configuration.SiloConnectionOptions options) => options.ConfigureGatewayInboundConnection(guard.Use);
}

/// <summary>Applies <see cref="GrantSiloMessagingOptions"/> to Orleans' messaging options.</summary>
internal sealed class MessageLimits(IOptions<GrantSiloMessagingOptions> limits) : IConfigureOptions<Orleans.Configuration.SiloMessagingOptions>
{
    public void Configure(Orleans.Configuration.SiloMessagingOptions options) => options.MaxMessageHeaderSize = limits.Value.MaxMessageHeaderBytes;
}
