using System.Runtime.InteropServices;

namespace Teletherapy.Signaling.Hosting;

/// <summary>
/// Caps glibc's malloc arenas for the server process. glibc gives each thread that allocates natively an arena of its
/// own, up to eight per core, and every arena keeps the pages it freed for its own later use; the relay's native
/// allocations (sockets, TLS, the runtime's own) come from whichever pool thread runs, so memory freed in one arena is
/// not reused by the next session's allocations in another and the resident size creeps. Two arenas are enough for a
/// process whose hot paths do not call malloc. <c>MALLOC_ARENA_MAX</c> in the environment (glibc's own setting, read at
/// process start) wins; without it the cap is set with <c>mallopt</c> before the host starts its threads. Elsewhere
/// (Windows, macOS, musl) this does nothing.
/// </summary>
internal static class MallocArenas
{
    /// <summary>The cap when the environment sets none.</summary>
    public const int DefaultMax = 2;

    /// <summary>glibc's environment variable for the same cap.</summary>
    public const string EnvironmentVariable = "MALLOC_ARENA_MAX";

    /// <summary><c>M_ARENA_MAX</c> in glibc's malloc.h.</summary>
    private const int MArenaMax = -8;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int Mallopt(int parameter, int value);

    /// <summary>What <see cref="Limit"/> did (start-up ignores it; tests check it).</summary>
    public enum Outcome
    {
        /// <summary>Not glibc: nothing to do.</summary>
        NotGlibc,

        /// <summary><c>MALLOC_ARENA_MAX</c> was set in the environment; glibc applied it at start.</summary>
        FromEnvironment,

        /// <summary>The cap was set with <c>mallopt</c>.</summary>
        Limited,

        /// <summary>glibc refused the setting.</summary>
        Refused,
    }

    /// <summary>Caps the arenas unless the environment already did; call before anything starts threads.</summary>
    public static Outcome Limit(int max = DefaultMax)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable)))
        {
            return Outcome.FromEnvironment;
        }

        if (!OperatingSystem.IsLinux()
            || !NativeLibrary.TryLoad("libc.so.6", out var libc)
            || !NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _)
            || !NativeLibrary.TryGetExport(libc, "mallopt", out var mallopt))
        {
            return Outcome.NotGlibc;
        }

        // mallopt returns 1 on success and 0 on error.
        return Marshal.GetDelegateForFunctionPointer<Mallopt>(mallopt)(MArenaMax, max) == 1 ? Outcome.Limited : Outcome.Refused;
    }
}
