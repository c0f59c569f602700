// Real silo processes compete for the same cores; run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
