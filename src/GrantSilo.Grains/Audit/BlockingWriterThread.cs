using System.Collections.Concurrent;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// Runs blocking writes (a write and an fsync) one at a time on a thread of their own. An fsync holds its thread for
/// milliseconds; on a thread-pool thread that is one of the pool's few threads (two on a two-core silo) taken from
/// grain calls for the whole time, and the pool does not add threads for a blocking system call.
/// </summary>
/// <remarks>Whoever awaits <see cref="RunAsync"/> continues on this thread (see <c>WorkItem.Done</c>).</remarks>
internal sealed class BlockingWriterThread : IDisposable
{
    private readonly BlockingCollection<WorkItem> _work = [];
    private readonly Thread _thread;

    public BlockingWriterThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the thread; the task completes (or fails) when it has.</summary>
    public Task RunAsync(Action work)
    {
        var item = new WorkItem(work);
        try
        {
            _work.Add(item);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(BlockingWriterThread), "The writer thread has stopped.");
        }
        return item.Done.Task;
    }

    /// <summary>Takes no more work; waits (briefly) for the work already taken to finish.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    private void Run()
    {
        foreach (var item in _work.GetConsumingEnumerable())
        {
            try
            {
                item.Work();
                item.Done.TrySetResult();
            }
            catch (Exception e)
            {
                item.Done.TrySetException(e);
            }
        }
    }

    private sealed record WorkItem(Action Work)
    {
        // Its awaiter continues on this thread, right after the work: the audit journal's writer goes on to seal its next
        // batch here instead of waiting its turn in the thread pool's queue behind the decisions it holds up. An awaiter
        // must therefore never block on this thread's own work.
        public TaskCompletionSource Done { get; } = new();
    }
}
