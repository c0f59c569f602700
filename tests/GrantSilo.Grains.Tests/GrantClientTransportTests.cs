using System.Reflection;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The client SDK against a stub cluster client, over every operation of <see cref="IGrantClient"/>:
/// the caller's token reaches the grain call; the caller's cancellation propagates as
/// <see cref="OperationCanceledException"/>; any other failure, a cancellation the caller did not ask
/// for included, is an answer (Unavailable, or a deny), logged without arguments and keeping the exception.
/// </summary>
public class GrantClientTransportTests
{
    // Every string argument is this marker (or, where a token is expected, a real token), so a log
    // line or error that repeated an argument would show it.
    private const string Marker = "arg-7f3c";

    private static readonly string Token = ForgedTokens.For(CredentialToken.NewCredentialId());

    // Every method of IGrantClient that calls GrantSilo: As(ICallerTokenSource) is not one (it gives a client
    // calling as someone else, and makes no call).
    private static readonly MethodInfo[] Operations = [.. typeof(IGrantClient).GetMethods().Where(m => m.Name != nameof(IGrantClient.As))];

    private static readonly string[] IdParameters = ["workloadId", "parentTaskId", "taskId", "sessionId", "credentialId", "approvalId"];

    public static TheoryData<string> OperationNames() => [.. Operations.Select(Describe)];

    [Fact]
    public void EveryPublicOperationOfGrantClient_IsOnIGrantClient()
    {
        var onClass = typeof(GrantClient).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Select(Describe).Order();
        Assert.Equal(onClass, typeof(IGrantClient).GetMethods().Select(Describe).Order());
        Assert.True(Operations.Length >= 30);

        // The one method that is not an operation makes no call.
        var (cluster, stub) = StubClusterClient.Create();
        Assert.NotNull(new GrantClient(cluster).As(new StaticCallerToken(Marker)));
        Assert.Empty(stub.Calls);
    }

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task EveryOperation_TakesTheCallersTokenLast_AndPassesItToTheGrainCall(string operation)
    {
        var method = Find(operation);
        var last = method.GetParameters()[^1];
        Assert.Equal(typeof(CancellationToken), last.ParameterType);
        Assert.Equal("cancellationToken", last.Name);
        Assert.True(last.HasDefaultValue);

        var (cluster, stub) = StubClusterClient.Create();
        using var caller = new CancellationTokenSource();
        await InvokeAsync(new GrantClient(cluster), method, caller.Token);

        Assert.NotEmpty(stub.Calls);
        Assert.All(stub.Calls, call => Assert.Equal(caller.Token, Assert.IsType<CancellationToken>(call.Arguments[^1])));
    }

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task ACancellationTheCallerDidNotAskFor_IsAnAnswer_NeverAnException(string operation)
    {
        // As when Orleans gives up a call itself (a silo killed mid-call, the client stopping): its own token, not the caller's.
        var transport = new OperationCanceledException("The runtime cancelled the request.", new CancellationToken(canceled: true));
        await AssertMappedAsync(operation, transport);
    }

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task ATransportFailure_IsAnAnswer_NeverAnException(string operation) =>
        await AssertMappedAsync(operation, new TimeoutException("Response did not arrive on time."));

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task TheCallersCancellation_ThrowsOperationCanceledException_AuthorizeIncluded(string operation)
    {
        var method = Find(operation);
        var (cluster, stub) = StubClusterClient.Create();
        using var caller = new CancellationTokenSource();
        // A call that did not get the caller's token fails at once, rather than waiting for a cancellation that never comes.
        stub.Answer = (m, args) => args[^1] is CancellationToken token && token == caller.Token
            ? StubClusterClient.CancelledWith(m, token)
            : StubClusterClient.Faulted(m, new InvalidOperationException("The grain call did not get the caller's token."));
        var logs = new RecordingLoggerProvider();

        var call = InvokeAsync(Client(cluster, logs), method, caller.Token);
        Assert.False(call.IsCompleted);
        await caller.CancelAsync();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(caller.Token, cancelled.CancellationToken);
        Assert.Empty(logs.Entries);
        if (method.Name == nameof(IGrantClient.SubscribeApprovalsAsync))
        {
            Assert.Single(stub.DeletedReferences);
        }
    }

    [Fact]
    public async Task AuthorizeWithACancelledToken_Throws_AndAMalformedTokenIsStillDeniedWithoutACall()
    {
        var (cluster, stub) = StubClusterClient.Create();
        stub.Answer = (m, args) => ((CancellationToken)args[^1]!).IsCancellationRequested
            ? StubClusterClient.Faulted(m, new OperationCanceledException((CancellationToken)args[^1]!))
            : StubClusterClient.Completed(m);
        var client = new GrantClient(cluster);
        var resource = new ResourceRef { Type = "doc", Path = "a" };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.AuthorizeAsync(Token, "read", resource, new CancellationToken(canceled: true)));
        var malformed = await client.AuthorizeAsync("not-a-token", "read", resource, new CancellationToken(canceled: true));
        Assert.Equal(DecisionKind.Deny, malformed.Kind);
        Assert.Equal(DecisionReason.MalformedToken, malformed.Reason);
        Assert.Single(stub.Calls);
    }

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task ATokenPassedWhereAnIdBelongs_IsRefusedBeforeAnyCall_AndNotRepeated(string operation)
    {
        var method = Find(operation);
        var first = method.GetParameters()[0];
        if (!IdParameters.Contains(first.Name))
        {
            Assert.DoesNotContain(method.GetParameters(), p => p.Name is "workloadId" or "taskId" or "sessionId" or "credentialId");
            return;
        }
        var (cluster, stub) = StubClusterClient.Create();
        var arguments = Arguments(method, CancellationToken.None);
        arguments[0] = Token;

        var result = await ResultAsync(method.Invoke(new GrantClient(cluster), arguments)!);

        var error = Assert.IsType<GrantError>(result!.GetType().GetProperty(nameof(GrantResult<object>.Error))!.GetValue(result));
        Assert.Equal(GrantErrorCode.InvalidIdentifier, error.Code);
        Assert.DoesNotContain(Token, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(stub.Calls);
    }

    [Fact]
    public async Task AddGrantClient_ResolvesGrantClientAndIGrantClientToOneInstance_LoggingThroughTheContainer()
    {
        var (cluster, stub) = StubClusterClient.Create();
        stub.Answer = (m, _) => StubClusterClient.Faulted(m, new TimeoutException("down"));
        var logs = new RecordingLoggerProvider();
        var services = new ServiceCollection()
            .AddSingleton(cluster)
            .AddLogging(logging => logging.AddProvider(logs))
            .AddGrantClient();
        using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<GrantClient>();
        Assert.Same(client, provider.GetRequiredService<IGrantClient>());

        Assert.Equal(GrantErrorCode.Unavailable, (await provider.GetRequiredService<IGrantClient>().GetTaskAsync("t-1")).Error?.Code);
        var entry = Assert.Single(logs.Entries);
        Assert.Equal(typeof(GrantClient).FullName, entry.Category);
        Assert.Equal(LogLevel.Warning, entry.Level);
    }

    private static async Task AssertMappedAsync(string operation, Exception transport)
    {
        var method = Find(operation);
        var (cluster, stub) = StubClusterClient.Create();
        stub.Answer = (m, _) => StubClusterClient.Faulted(m, transport);
        var logs = new RecordingLoggerProvider();
        using var caller = new CancellationTokenSource();

        var result = await InvokeAsync(Client(cluster, logs), method, caller.Token);

        if (result is Decision decision)
        {
            Assert.Equal(DecisionKind.Deny, decision.Kind);
            Assert.Equal(DecisionReason.Error, decision.Reason);
        }
        else
        {
            var error = Assert.IsType<GrantError>(result!.GetType().GetProperty(nameof(GrantResult<object>.Error))!.GetValue(result));
            Assert.Equal(GrantErrorCode.Unavailable, error.Code);
            Assert.Same(transport, error.Exception);
        }
        if (method.Name == nameof(IGrantClient.SubscribeApprovalsAsync))
        {
            Assert.Single(stub.DeletedReferences);
        }

        var entry = Assert.Single(logs.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Same(transport, entry.Exception);
        Assert.Contains(method.Name, entry.Text, StringComparison.Ordinal);
        var logged = string.Join("|", entry.State.Select(kv => $"{kv.Key}={kv.Value}").Append(entry.Text));
        Assert.DoesNotContain(Marker, logged, StringComparison.Ordinal);
        // Neither the token nor its signature (without which what precedes it is nothing).
        Assert.DoesNotContain(Token, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(Token[(Token.LastIndexOf('.') + 1)..], logged, StringComparison.Ordinal);
    }

    private static GrantClient Client(IClusterClient cluster, RecordingLoggerProvider logs) =>
        new(cluster, logger: LoggerFactory.Create(logging => logging.AddProvider(logs)).CreateLogger<GrantClient>());

    private static async Task<object?> InvokeAsync(GrantClient client, MethodInfo method, CancellationToken cancellationToken)
    {
        var result = await ResultAsync(method.Invoke(client, Arguments(method, cancellationToken))!);
        if (result is ApprovalSubscription subscription)
        {
            await subscription.DisposeAsync();
        }
        return result;
    }

    private static async Task<object?> ResultAsync(object call)
    {
        var task = (Task)call;
        await task;
        return task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task);
    }

    private static object?[] Arguments(MethodInfo method, CancellationToken cancellationToken) =>
        [.. method.GetParameters().Select(object? (p) => p.ParameterType switch
        {
            var t when t == typeof(CancellationToken) => cancellationToken,
            var t when t == typeof(string) && p.Name == "token" => Token,
            var t when t == typeof(string) => Marker,
            var t when t == typeof(long) => 1L,
            var t when t == typeof(IApprovalObserver) => new SilentObserver(),
            var t when t == typeof(ResourceRef) => new ResourceRef { Type = "doc", Path = Marker },
            var t when t == typeof(OpenSessionRequest) => new OpenSessionRequest { Agent = Marker },
            // An exchange's first call is the delegation its subject token proves (the forged token's task).
            var t when t == typeof(CredentialExchangeRequest) => new CredentialExchangeRequest { SubjectToken = Token, Actor = "spiffe://test.dev/worker", ActorToken = Marker },
            _ => null, // requests go to the grain as they are
        })];

    private static MethodInfo Find(string operation) => Operations.Single(m => Describe(m) == operation);

    private static string Describe(MethodInfo method) =>
        $"{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";

    private sealed class SilentObserver : IApprovalObserver
    {
        public Task OnApprovalRequestedAsync(ApprovalInfo approval) => Task.CompletedTask;

        public Task OnApprovalResolvedAsync(ApprovalInfo approval) => Task.CompletedTask;
    }
}
