using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace GrantSilo.WebConsole;

/// <summary>
/// The server-side session of the backend-for-frontend: the whole sign-in ticket (the person's claims and the token
/// the console calls GrantSilo with) stays in the silo host's memory; the browser's cookie carries only a random key,
/// encrypted and signed. A restart signs everyone out, which is the safe direction.
/// </summary>
/// <remarks>
/// Every sign-in gets a key of its own. The cookie handler would otherwise keep the key of a session the browser already
/// holds and put the new sign-in under it (<see cref="RenewAsync(string, AuthenticationTicket)"/>): whoever planted or
/// copied that cookie beforehand would then hold the new person's session. So a sign-in over a live session ends that
/// session and starts another, and a session that ends (sign-out, expiry, eviction) also ends the live streams opened
/// with it (<see cref="Ended"/>).
/// </remarks>
internal sealed class MemoryTicketStore(TimeProvider time, int maxSessions = MemoryTicketStore.DefaultMaxSessions, int maxSessionsPerPerson = MemoryTicketStore.DefaultMaxSessionsPerPerson) : ITicketStore
{
    /// <summary>How many sessions the silo host keeps at most.</summary>
    public const int DefaultMaxSessions = 10_000;

    /// <summary>How many sessions one person keeps at most: their next sign-in ends their oldest, never someone else's.</summary>
    public const int DefaultMaxSessionsPerPerson = 16;

    /// <summary>The ticket's own record of its key (server-side only: the ticket never leaves the store).</summary>
    internal const string KeyItem = ".grantsilo-session";

    private static readonly object FreshSignInItem = new();

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _admit = new();

    /// <summary>
    /// Marks <paramref name="http"/> as a sign-in: a session its cookie names is ended rather than read, so the sign-in
    /// gets a new key. Call before anything authenticates the request's cookie.
    /// </summary>
    public static void BeginSignIn(HttpContext http) => http.Items[FreshSignInItem] = true;

    /// <summary>Cancelled when the session of <paramref name="ticketProperties"/> ends; cancelled already when it has ended or is unknown.</summary>
    public CancellationToken Ended(AuthenticationProperties? ticketProperties) =>
        ticketProperties?.Items.TryGetValue(KeyItem, out var key) == true && key is not null && _sessions.TryGetValue(key, out var session)
            ? session.Ended.Token
            : new CancellationToken(canceled: true);

    /// <summary>How many sessions are kept (for tests).</summary>
    internal int Count => _sessions.Count;

    public Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        ticket.Properties.Items[KeyItem] = key;
        var person = PersonOf(ticket);
        lock (_admit)
        {
            Sweep(person);
            _sessions[key] = new Session(ticket, person);
        }
        return Task.FromResult(key);
    }

    /// <summary>
    /// Only a sign-in over a live session comes here (the console's sessions neither slide nor refresh): the session under
    /// <paramref name="key"/> ends and the new ticket is not kept under a key someone else may hold. The person signs in
    /// again, with a key of their own.
    /// </summary>
    public Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        End(key);
        return Task.CompletedTask;
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => Task.FromResult(Retrieve(key));

    public Task<AuthenticationTicket?> RetrieveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (httpContext.Items.ContainsKey(FreshSignInItem))
        {
            // A sign-in: the session this browser held ends, and the sign-in gets a new key (StoreAsync).
            End(key);
            return Task.FromResult<AuthenticationTicket?>(null);
        }
        return Task.FromResult(Retrieve(key));
    }

    public Task RemoveAsync(string key)
    {
        End(key);
        return Task.CompletedTask;
    }

    private AuthenticationTicket? Retrieve(string key)
    {
        if (!_sessions.TryGetValue(key, out var session))
        {
            return null;
        }
        if (session.Ticket.Properties.ExpiresUtc is { } expires && expires <= time.GetUtcNow())
        {
            End(key);
            return null;
        }
        return session.Ticket;
    }

    private void End(string key)
    {
        if (_sessions.TryRemove(key, out var session))
        {
            session.Ended.Cancel();
        }
    }

    // Expired sessions are dropped as new ones arrive. Past a person's own cap their oldest-expiring go first; past the
    // silo's cap the oldest-expiring of anyone's go, so one person signing in over and over ends only their own sessions.
    private void Sweep(string person)
    {
        var now = time.GetUtcNow();
        foreach (var (key, session) in _sessions)
        {
            if (session.Ticket.Properties.ExpiresUtc is { } expires && expires <= now)
            {
                End(key);
            }
        }
        var own = _sessions.Where(p => p.Value.Person == person).ToList();
        foreach (var (key, _) in own.OrderBy(p => Expiry(p.Value)).Take(own.Count - maxSessionsPerPerson + 1))
        {
            End(key);
        }
        if (_sessions.Count >= maxSessions)
        {
            foreach (var (key, _) in _sessions.OrderBy(p => Expiry(p.Value)).Take(_sessions.Count - maxSessions + 1).ToList())
            {
                End(key);
            }
        }
    }

    private static DateTimeOffset Expiry(Session session) => session.Ticket.Properties.ExpiresUtc ?? DateTimeOffset.MinValue;

    private static string PersonOf(AuthenticationTicket ticket) => ticket.Principal.Identity?.Name ?? "";

    private sealed class Session(AuthenticationTicket ticket, string person)
    {
        public AuthenticationTicket Ticket { get; } = ticket;

        public string Person { get; } = person;

        public CancellationTokenSource Ended { get; } = new();
    }
}

/// <summary>Points the console's cookie at the server-side ticket store.</summary>
internal sealed class UseTicketStore(MemoryTicketStore store) : Microsoft.Extensions.Options.IPostConfigureOptions<CookieAuthenticationOptions>
{
    public void PostConfigure(string? name, CookieAuthenticationOptions options)
    {
        if (name == ConsoleAuth.Scheme)
        {
            options.SessionStore = store;
        }
    }
}
