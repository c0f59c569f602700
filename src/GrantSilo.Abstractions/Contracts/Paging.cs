namespace GrantSilo;

/// <summary>
/// One page of a listing, ordered by id. <see cref="ContinuationToken"/> is null on the last page; otherwise pass it
/// back to read the next page. A page may hold fewer items than asked for (entries that ended are left out) and still
/// have a next page.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.page`1")]
public sealed record Page<T>
{
    /// <summary>The entries of this page.</summary>
    [Id(0)] public IReadOnlyList<T> Items { get; init; } = [];

    /// <summary>Opaque; where the next page starts, or null when there is none.</summary>
    [Id(1)] public string? ContinuationToken { get; init; }
}

/// <summary>Page sizes of listings.</summary>
public static class Page
{
    /// <summary>The page size when none is asked for.</summary>
    public const int DefaultSize = 100;

    /// <summary>The largest page size accepted.</summary>
    public const int MaxSize = 1000;

    /// <summary>The page size to use for <paramref name="pageSize"/>, or an <see cref="GrantErrorCode.InvalidArgument"/> error.</summary>
    public static GrantResult<int> Size(int? pageSize) =>
        pageSize switch
        {
            null => GrantResult<int>.Ok(DefaultSize),
            >= 1 and <= MaxSize => GrantResult<int>.Ok(pageSize.Value),
            _ => GrantResult<int>.Fail(GrantErrorCode.InvalidArgument, $"A page size is between 1 and {MaxSize}; it is {pageSize}."),
        };
}
