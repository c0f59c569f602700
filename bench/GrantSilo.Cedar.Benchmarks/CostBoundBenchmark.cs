using System.Diagnostics;

namespace GrantSilo.Cedar.Benchmarks;

/// <summary>
/// The cost bound: what a policy with 255 <c>like</c> clauses costs per decision without a budget, what the
/// evaluation budget makes of it (a fail-closed deny), what the budget costs on the ordinary workload, and what
/// checking the limits of a published set costs.
/// </summary>
internal static class CostBoundBenchmark
{
    public static bool Run(AuthorizationRequest[] requests, EntityStore entities, int iterations)
    {
        var likes = "permit (principal, action, resource) when { " +
            string.Join(" || ", Enumerable.Range(0, 255).Select(i => $"context.taskId like \"*-{i}*-x*-y*\"")) + " };";
        var heavy = PolicySet.Parse(Workload.Policies + "\n" + likes);
        var limits = PolicyLimits.Default;
        var violations = limits.Check(heavy);
        var ordinary = PolicySet.Parse(Workload.Policies);
        // A budget of twice what the ordinary workload can cost: it never stops an ordinary decision.
        var budget = new AuthorizerOptions { EvaluationBudget = 2 * ordinary.Policies.Sum(p => p.Cost) };

        var unbounded = new Authorizer(heavy);
        var bounded = new Authorizer(heavy, budget);
        var heavyNs = TimePerDecision(unbounded, requests, entities, Math.Max(200, iterations / 500));
        var boundedNs = TimePerDecision(bounded, requests, entities, Math.Max(2000, iterations / 50));
        var exceeded = requests.Count(r => bounded.IsAuthorized(r, entities).BudgetExceeded);

        var plain = new Authorizer(ordinary);
        var withBudget = new Authorizer(ordinary, budget);
        var same = requests.All(r => plain.IsAuthorized(r, entities).ToString() == withBudget.IsAuthorized(r, entities).ToString());
        // Warm both up as long as the main benchmark warmed the plain path, so tiered compilation has settled on both.
        TimePerDecision(plain, requests, entities, iterations);
        TimePerDecision(withBudget, requests, entities, iterations);
        double plainTicks = 0, budgetTicks = 0;
        for (var round = 0; round < 10; round++)
        {
            // Alternate which runs first, so drift on the shared machine does not favour either.
            if (round % 2 == 0)
            {
                plainTicks += TimePerDecision(plain, requests, entities, iterations / 20);
                budgetTicks += TimePerDecision(withBudget, requests, entities, iterations / 20);
            }
            else
            {
                budgetTicks += TimePerDecision(withBudget, requests, entities, iterations / 20);
                plainTicks += TimePerDecision(plain, requests, entities, iterations / 20);
            }
        }

        var checkNs = Median(() => limits.Check(heavy), 200);

        Console.WriteLine();
        Console.WriteLine($"cost bound: 20 workload policies + one with 255 `like` clauses (estimated cost {heavy.Policies[^1].Cost}; MaxPolicyCost {limits.MaxPolicyCost})");
        Console.WriteLine($"publish check refuses it: {string.Join("; ", violations.Select(v => $"{v.Limit} ({v.Actual} > {v.Maximum})"))}   check takes {checkNs / 1000.0:F1} us");
        Console.WriteLine($"per decision without a budget {heavyNs / 1000.0:F1} us; with EvaluationBudget {budget.EvaluationBudget} {boundedNs / 1000.0:F2} us, denied fail-closed on {exceeded}/{requests.Length} requests");
        Console.WriteLine($"ordinary workload with the budget: decisions {(same ? "identical" : "DIFFER")}, mean {budgetTicks / 10:F0} ns vs {plainTicks / 10:F0} ns without ({budgetTicks / plainTicks:F2}x)");
        return violations.Any(v => v.Limit == nameof(PolicyLimits.MaxPolicyCost)) && exceeded == requests.Length && same;
    }

    private static double TimePerDecision(Authorizer authorizer, AuthorizationRequest[] requests, EntityStore entities, int n)
    {
        for (var i = 0; i < Math.Min(n, 1000); i++)
        {
            authorizer.IsAuthorized(requests[i % requests.Length], entities);
        }

        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < n; i++)
        {
            authorizer.IsAuthorized(requests[i % requests.Length], entities);
        }

        return (Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency) / n;
    }

    private static double Median(Action action, int n)
    {
        var samples = new double[n];
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            samples[i] = (Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency);
        }

        Array.Sort(samples);
        return samples[n / 2];
    }
}
