using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Teletherapy.MediaRelay.Dtls;
using Teletherapy.MediaRelay.Srtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Benchmarks;

/// <summary>
/// The relay's per-packet work when the thread doing it has just slept, as the receive thread does between wake-ups
/// (<c>Media:UdpCoalesceMicroseconds</c>, 500 µs), against the same work done back to back. BenchmarkDotNet measures
/// the second kind only: a loop keeps its code and data in the caches. Only the work is timed, never the pause. Three
/// parts: dependent loads over a fixed set of memory lines (what touching a line costs after a pause on this machine,
/// whatever the code), OpenSSL's AES-GCM alone, then <see cref="RelayPathSession.Forward"/> for the next few
/// sessions in turn per wake-up.
/// <c>./load-tests/benchmarks.sh --after-pause [--pause-us N] [--per-wake N] [--seconds N]</c>.
/// </summary>
internal static class PauseMeasurement
{
    private const int LoadsPerWake = 30;
    private const int Lines = 2000;
    private const int PayloadLength = 1000;
    private const int Keys = 100;

    public static int Run(string[] args, TextWriter output)
    {
        var pause = Option(args, "--pause-us", 500);
        var perWake = Option(args, "--per-wake", 4);
        var seconds = Option(args, "--seconds", 3);
        if (pause < 1 || perWake < 1 || seconds < 1)
        {
            output.WriteLine("--pause-us, --per-wake and --seconds take whole numbers of at least 1.");
            return 2;
        }

        output.WriteLine(Invariant($"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; pause {pause} µs, {seconds} s a case"));
        output.WriteLine();
        output.WriteLine(Invariant($"Dependent loads over {Lines:N0} lines, {LoadsPerWake} a wake-up (ns a load):"));
        output.WriteLine("| lines | back to back | after a pause | ratio |");
        output.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (spread, label) in new[] { (64, "adjacent (64 B apart)"), (4096, "one a page (4 KiB apart)") })
        {
            var chain = new LoadChain(Lines, spread);
            var warm = chain.NanosecondsPerLoad(0, seconds);
            var cold = chain.NanosecondsPerLoad(pause, seconds);
            output.WriteLine(Invariant($"| {label} | {warm:0.0} | {cold:0.0} | {cold / warm:0.0} |"));
        }

        if (OpenSslGcm.IsSupported)
        {
            var gcm = new GcmRun(Keys, perWake);
            try
            {
                gcm.MicrosecondsPerDecrypt(0, 1);
                var warm = gcm.MicrosecondsPerDecrypt(0, seconds);
                var cold = gcm.MicrosecondsPerDecrypt(pause, seconds);
                output.WriteLine();
                output.WriteLine(Invariant($"AES-128-GCM decryption of {PayloadLength} bytes through OpenSSL alone, {Keys} keys in turn, {perWake} a wake-up (µs each): back to back {warm:0.00}, after a pause {cold:0.00} ({cold / warm:0.0}×)"));
            }
            finally
            {
                gcm.Dispose();
            }
        }

        output.WriteLine();
        output.WriteLine(Invariant($"A forwarded packet (unprotect, route, rewrite, protect; {PayloadLength}-byte Opus payload, AES-128-GCM), {perWake} sessions' packets a wake-up (µs a packet):"));
        output.WriteLine("| sessions | back to back | after a pause | ratio | of it unprotect, back to back / after a pause | of it route, rewrite and protect |");
        output.WriteLine("| ---: | ---: | ---: | ---: | --- | --- |");
        var certificate = DtlsCertificate.Generate();
        foreach (var count in new[] { 1, 20, 100, 400 })
        {
            var path = new PathRun(count, perWake, certificate);
            try
            {
                path.Measure(0, 1); // compiles and warms up everything once
                var warm = path.Measure(0, seconds);
                var cold = path.Measure(pause, seconds);
                output.WriteLine(Invariant($"| {count} | {warm.Total:0.00} | {cold.Total:0.00} | {cold.Total / warm.Total:0.0} | {warm.Unprotect:0.00} / {cold.Unprotect:0.00} | {warm.Total - warm.Unprotect:0.00} / {cold.Total - cold.Unprotect:0.00} |"));
            }
            finally
            {
                path.Dispose();
            }
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : at >= 0 ? -1 : fallback;
    }

    private static void Pause(int microseconds)
    {
        if (microseconds <= 0)
        {
            return;
        }

        if (LinuxSocketCalls.IsSupported)
        {
            LinuxSocketCalls.SleepMicroseconds(microseconds);
        }
        else
        {
            Thread.Sleep((microseconds + 999) / 1000);
        }
    }

    /// <summary>
    /// Rounds for <paramref name="seconds"/>: <paramref name="prepare"/> (not timed), the pause, then <paramref name="work"/>,
    /// timed. Returns the µs the work took in all and the number of rounds.
    /// </summary>
    private static (double Microseconds, long Rounds) TimeRounds(int pause, int seconds, Action prepare, Action work)
    {
        long ticks = 0, rounds = 0;
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            prepare();
            Pause(pause);
            var start = Stopwatch.GetTimestamp();
            work();
            ticks += Stopwatch.GetTimestamp() - start;
            rounds++;
        }

        return (ToMicroseconds(ticks), rounds);
    }

    private static double ToMicroseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A random cycle through <c>lines</c> memory lines <c>spread</c> bytes apart: each load's address is the one before's value.</summary>
    private sealed class LoadChain
    {
        private readonly int[] _next;
        private int _at;

        public LoadChain(int lines, int spread)
        {
            var stride = spread / sizeof(int);
            _next = new int[lines * stride];
            var order = Enumerable.Range(0, lines).ToArray();
            new Random(7).Shuffle(order);
            for (var i = 0; i < lines; i++)
            {
                _next[order[i] * stride] = order[(i + 1) % lines] * stride;
            }
        }

        public double NanosecondsPerLoad(int pause, int seconds)
        {
            var (microseconds, rounds) = TimeRounds(pause, seconds, static () => { }, Chase);
            return microseconds * 1000 / (rounds * LoadsPerWake);
        }

        private void Chase()
        {
            var at = _at;
            for (var i = 0; i < LoadsPerWake; i++)
            {
                at = _next[at];
            }

            _at = at;
        }
    }

    /// <summary>OpenSSL's AES-GCM alone (<see cref="OpenSslGcm"/>): one key after another, as each packet is a different session's.</summary>
    private sealed class GcmRun : IDisposable
    {
        private readonly OpenSslGcm[] _keys;
        private readonly byte[] _nonce = new byte[12];
        private readonly byte[] _associatedData = new byte[20];
        private readonly byte[][] _buffers;
        private readonly byte[][] _tags;
        private readonly OpenSslGcm[] _batch;
        private int _next;

        public GcmRun(int keys, int perWake)
        {
            var random = new Random(3);
            _keys = Enumerable.Range(0, keys).Select(_ =>
            {
                var key = new byte[16];
                random.NextBytes(key);
                return OpenSslGcm.TryCreate(key)!;
            }).ToArray();
            _buffers = Enumerable.Range(0, perWake).Select(_ => new byte[PayloadLength]).ToArray();
            _tags = Enumerable.Range(0, perWake).Select(_ => new byte[OpenSslGcm.TagLength]).ToArray();
            _batch = new OpenSslGcm[perWake];
        }

        /// <summary>Each wake-up's packets are encrypted before the pause and decrypted (the tag checked) after it; only that is timed.</summary>
        public double MicrosecondsPerDecrypt(int pause, int seconds)
        {
            var (microseconds, rounds) = TimeRounds(pause, seconds, Encrypt, Decrypt);
            return microseconds / (rounds * _batch.Length);
        }

        private void Encrypt()
        {
            for (var i = 0; i < _batch.Length; i++)
            {
                _batch[i] = _keys[_next];
                _next = (_next + 1) % _keys.Length;
                _batch[i].Encrypt(_nonce, _buffers[i], _buffers[i], _tags[i], _associatedData);
            }
        }

        private void Decrypt()
        {
            for (var i = 0; i < _batch.Length; i++)
            {
                if (!_batch[i].TryDecrypt(_nonce, _buffers[i], _tags[i], _buffers[i], _associatedData))
                {
                    throw new InvalidOperationException("The tag did not verify.");
                }
            }
        }

        public void Dispose()
        {
            foreach (var key in _keys)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>Sessions whose packets are forwarded a few at a time, each wake-up taking the next sessions in turn.</summary>
    private sealed class PathRun : IDisposable
    {
        private readonly RelayPathSession[] _sessions;
        private readonly byte[][] _buffers;
        private readonly int[] _lengths;
        private readonly RelayPathSession[] _batch;
        private int _next;
        private long _unprotectTicks;

        public PathRun(int sessions, int perWake, DtlsCertificate certificate)
        {
            var random = new Random(1);
            var directory = new TransportDirectory();
            _sessions = Enumerable.Range(0, sessions).Select(i => new RelayPathSession(random, directory, certificate, (uint)(0x1000 + i), PayloadLength)).ToArray();
            _buffers = Enumerable.Range(0, perWake).Select(_ => new byte[1500]).ToArray();
            _lengths = new int[perWake];
            _batch = new RelayPathSession[perWake];
        }

        /// <summary>
        /// µs a packet, all of the relay's work and its unprotect part. The publishers' packets are made before the
        /// pause, as they would have arrived during it; the relay's work after it is timed.
        /// </summary>
        public (double Total, double Unprotect) Measure(int pause, int seconds)
        {
            _unprotectTicks = 0;
            var (microseconds, rounds) = TimeRounds(pause, seconds, MakePackets, Forward);
            var packets = rounds * _batch.Length;
            return (microseconds / packets, ToMicroseconds(_unprotectTicks) / packets);
        }

        private void MakePackets()
        {
            for (var i = 0; i < _batch.Length; i++)
            {
                _batch[i] = _sessions[_next];
                _next = (_next + 1) % _sessions.Length;
                _lengths[i] = _batch[i].PublisherPacket(_buffers[i]);
            }
        }

        /// <summary>Each packet as <see cref="RelayPathSession.Forward"/>, its unprotect part timed apart.</summary>
        private void Forward()
        {
            for (var i = 0; i < _batch.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var length = _batch[i].Unprotect(_buffers[i], _lengths[i]);
                _unprotectTicks += Stopwatch.GetTimestamp() - start;
                _batch[i].Route(_buffers[i], length);
            }
        }

        public void Dispose()
        {
            foreach (var session in _sessions)
            {
                session.Dispose();
            }
        }
    }
}

