using System.Diagnostics;
using System.Globalization;

namespace Teletherapy.LoadTests.Media;

/// <summary>One VP8 layer: its rid (simulcast) and encoded frames.</summary>
internal sealed record VideoLayer(string Rid, int Width, int Height, IReadOnlyList<VideoFrame> Frames);

/// <summary>The media every synthetic participant sends: VP8 layers (one, or three for simulcast) and Opus packets.</summary>
internal sealed record MediaSet(IReadOnlyList<VideoLayer> Layers, IReadOnlyList<byte[]> OpusPackets, int FramesPerSecond)
{
    private static readonly string[] CommonArguments = ["-y", "-hide_banner", "-loglevel", "error"];

    /// <summary>
    /// Makes (once, then from the cache folder) a 10 s 30 fps VP8 test pattern with a keyframe every second at
    /// 640x360 ~500 kbit/s (and, for simulcast, 320x180 ~150 kbit/s and 160x90 ~50 kbit/s), and 10 s of Opus in 20 ms
    /// frames, with ffmpeg; then reads them.
    /// </summary>
    public static async Task<MediaSet> LoadAsync(string cacheDirectory, bool simulcast, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(cacheDirectory);
        var specs = simulcast
            ? new[] { ("q", 160, 90, 50), ("h", 320, 180, 150), ("f", 640, 360, 500) }
            : new[] { ("f", 640, 360, 500) };
        var layers = new List<VideoLayer>();
        foreach (var (rid, width, height, kbps) in specs)
        {
            var path = Path.Combine(cacheDirectory, $"video-{width}x{height}-{kbps}k.ivf");
            if (!File.Exists(path))
            {
                await FfmpegAsync(path, cancellationToken,
                    "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate=30", "-t", "10",
                    "-c:v", "libvpx", "-b:v", kbps.ToString(CultureInfo.InvariantCulture) + "k",
                    "-g", "30", "-keyint_min", "30", "-auto-alt-ref", "0", "-lag-in-frames", "0",
                    "-deadline", "realtime", "-cpu-used", "8", "-f", "ivf").ConfigureAwait(false);
            }

            layers.Add(new VideoLayer(rid, width, height, IvfReader.ReadFrames(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false))));
        }

        var audioPath = Path.Combine(cacheDirectory, "audio-48k-20ms.ogg");
        if (!File.Exists(audioPath))
        {
            await FfmpegAsync(audioPath, cancellationToken,
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
                "-ac", "2", "-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20", "-application", "voip", "-f", "ogg").ConfigureAwait(false);
        }

        var opus = OggOpusReader.ReadPackets(await File.ReadAllBytesAsync(audioPath, cancellationToken).ConfigureAwait(false));
        if (opus.Count == 0 || layers.Any(l => l.Frames.Count == 0))
        {
            throw new InvalidDataException($"The generated media in {cacheDirectory} is empty; delete the folder to make it again.");
        }

        return new MediaSet(layers, opus, 30);
    }

    private static async Task FfmpegAsync(string output, CancellationToken cancellationToken, params string[] arguments)
    {
        var temporary = output + ".tmp";
        var start = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in CommonArguments.Concat(arguments).Append(temporary))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("ffmpeg is needed to make the test media: apt-get install -y ffmpeg");
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg failed ({process.ExitCode}): {await errors.ConfigureAwait(false)}");
            }
        }

        File.Move(temporary, output, overwrite: true);
    }
}
