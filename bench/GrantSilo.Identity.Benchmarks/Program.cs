using BenchmarkDotNet.Running;
using GrantSilo.Identity.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(VerificationBenchmarks).Assembly).Run(args);
