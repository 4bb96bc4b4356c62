using System.Reflection;
using Prometheus;

namespace Teletherapy.Signaling.Hosting;

/// <summary>Publishes <c>teletherapy_build_info{version,runtime} 1</c>.</summary>
internal static class BuildInfo
{
    private static readonly Gauge Info = Metrics.CreateGauge(
        "teletherapy_build_info",
        "Build information of the running server; the value is always 1.",
        new GaugeConfiguration { LabelNames = ["version", "runtime"] });

    public static string Version { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static void Publish() => Info.WithLabels(Version, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription).Set(1);
}
