namespace Wal.Streams.Tests;

/// <summary>A test that watches this process's system calls with strace; skipped where strace is not installed.</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (SystemCallTrace.StracePath is null)
        {
            Skip = "strace is not installed (apt-get install strace)";
        }
    }
}
