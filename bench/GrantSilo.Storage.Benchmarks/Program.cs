using System.Diagnostics;
using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

// Storage benchmark: the AzureTable profile's grain storage (Microsoft's Orleans provider) against a raw Azure.Data.Tables baseline measured in the
// same run on the same Azurite, plus the reminder table's registration rate. Usage:
//   dotnet run -c Release --project bench/GrantSilo.Storage.Benchmarks [-- --iterations N]
var iterations = ArgValue(args, "--iterations", 2000);
var reminderCount = ArgValue(args, "--reminders", 2000);
var culture = CultureInfo.InvariantCulture;

await using var azurite = await AzuriteProcess.StartAsync();
using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
var serializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());

// The grain storage exactly as the AzureTable profile registers it: Microsoft's AzureTableGrainStorage, under GrantSilo's guard.
var storage = await MicrosoftTables.GrainStorageAsync(azurite.ConnectionString, "bench", "BenchGrainState");

var raw = new TableServiceClient(azurite.ConnectionString).GetTableClient("BenchRaw");
await raw.CreateIfNotExistsAsync();

Console.WriteLine($"GrantSilo storage benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, Azurite in-memory on loopback");
Console.WriteLine($"{iterations} measured operations per row after {iterations / 10} warm-up operations; provider and baseline alternate operation by operation.");
Console.WriteLine();
Console.WriteLine("| state size | operation | provider p50 (ms) | provider p99 (ms) | raw p50 (ms) | raw p99 (ms) | p50 ratio | p99 ratio |");
Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");

var worstP50Ratio = 0.0;
foreach (var size in new[] { 1024, 16 * 1024, 256 * 1024 })
{
    var runs = size >= 256 * 1024 ? Math.Max(200, iterations / 5) : iterations;
    var payload = new byte[size];
    new Random(size).NextBytes(payload);
    var grainIds = Enumerable.Range(0, 16).Select(i => GrainId.Create("bench", $"{size}-{i}")).ToArray();
    var states = grainIds.Select(_ => new GrainState<byte[]>(payload)).ToArray();
    var rawEntity = RawEntity("raw", size.ToString(culture), serializer.Serialize(payload).ToArray());

    var providerWrites = new List<double>(runs);
    var rawWrites = new List<double>(runs);
    var providerReads = new List<double>(runs);
    var rawReads = new List<double>(runs);
    for (var i = -runs / 10; i < runs; i++)
    {
        var grain = i & 15;
        var keep = i >= 0;
        var t = Stopwatch.GetTimestamp();
        await storage.WriteStateAsync("state", grainIds[grain], states[grain]);
        Record(providerWrites, t, keep);

        t = Stopwatch.GetTimestamp();
        rawEntity.RowKey = $"{size}-{grain}";
        await raw.UpsertEntityAsync(rawEntity, TableUpdateMode.Replace);
        Record(rawWrites, t, keep);

        var read = new GrainState<byte[]>();
        t = Stopwatch.GetTimestamp();
        await storage.ReadStateAsync("state", grainIds[grain], read);
        Record(providerReads, t, keep);

        t = Stopwatch.GetTimestamp();
        var rawRead = await raw.GetEntityIfExistsAsync<TableEntity>("raw", $"{size}-{grain}");
        Record(rawReads, t, keep);
        if (read.State is null || read.State.Length != size || !rawRead.HasValue)
        {
            throw new InvalidOperationException("The benchmark read back something other than what it wrote.");
        }
    }

    worstP50Ratio = Math.Max(worstP50Ratio, Row(SizeText(size), "write (conditional replace vs upsert)", providerWrites, rawWrites));
    worstP50Ratio = Math.Max(worstP50Ratio, Row(SizeText(size), "read", providerReads, rawReads));
}

Console.WriteLine();
Console.WriteLine($"Worst p50 ratio: {worstP50Ratio.ToString("0.00", culture)}x (target: at most 1.30x).");
Console.WriteLine();

var reminders = await MicrosoftTables.RemindersAsync(azurite.ConnectionString, "bench", table: "BenchReminders");
Console.WriteLine("| reminder registration | reminders | elapsed (s) | rate (reminders/s) |");
Console.WriteLine("|---|---:|---:|---:|");
foreach (var concurrency in new[] { 1, 16 })
{
    var next = -1;
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var n && n < reminderCount)
        {
            await reminders.UpsertRow(new ReminderEntry
            {
                GrainId = GrainId.Create("bench-reminder", $"{concurrency}-{n}"),
                ReminderName = "expire",
                StartAt = DateTime.UtcNow,
                Period = TimeSpan.FromMinutes(1),
            });
        }
    }));
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    Console.WriteLine($"| UpsertRow, {concurrency} concurrent caller(s) | {reminderCount} | {elapsed.ToString("0.00", culture)} | {(reminderCount / elapsed).ToString("0", culture)} |");
}

return 0;

static void Record(List<double> samples, long started, bool keep)
{
    if (keep)
    {
        samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}

static double Percentile(List<double> samples, double percentile)
{
    var sorted = samples.Order().ToArray();
    var index = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
    return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
}

static double Row(string size, string operation, List<double> provider, List<double> baseline)
{
    var culture = CultureInfo.InvariantCulture;
    var (p50, p99, r50, r99) = (Percentile(provider, 50), Percentile(provider, 99), Percentile(baseline, 50), Percentile(baseline, 99));
    Console.WriteLine($"| {size} | {operation} | {p50.ToString("0.000", culture)} | {p99.ToString("0.000", culture)} | {r50.ToString("0.000", culture)} | {r99.ToString("0.000", culture)} | {(p50 / r50).ToString("0.00", culture)}x | {(p99 / r99).ToString("0.00", culture)}x |");
    return p50 / r50;
}

static string SizeText(int size) => size >= 1024 ? $"{size / 1024} KiB" : $"{size} B";

static TableEntity RawEntity(string partitionKey, string rowKey, byte[] payload)
{
    // The same shape Microsoft's provider stores: the serialized state in 64 KiB binary properties Data, Data1, ...
    const int chunkSize = 64 * 1024;
    var entity = new TableEntity(partitionKey, rowKey);
    for (int offset = 0, chunk = 0; offset < payload.Length; offset += chunkSize, chunk++)
    {
        entity[chunk == 0 ? "Data" : "Data" + chunk] = payload.AsSpan(offset, Math.Min(chunkSize, payload.Length - offset)).ToArray();
    }

    return entity;
}

static int ArgValue(string[] args, string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
