using System.Runtime.CompilerServices;

namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>Runtime switches for the test process, set before any host starts.</summary>
internal static class TestSwitches
{
    /// <summary>
    /// Kestrel watches certificate files named in its configuration and reloads when they change. Its watcher and the
    /// file provider's change token take their locks in opposite orders, so a file event that arrives while Kestrel binds
    /// can deadlock the start (seen in a hang dump: CertificatePathWatcher.OnChange waiting for the watcher's lock under
    /// CompositeChangeToken.OnChange, and AddWatchUnsynchronized waiting for the token's lock under the watcher's). The
    /// tests write a fresh certificate just before each start, which is exactly that moment. No test exercises reloading
    /// a certificate, so watching is off in the test process only; the server keeps it.
    /// </summary>
    [ModuleInitializer]
    internal static void Set() => AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableCertificateFileWatching", true);
}
