using System.Reflection;
using System.Xml.Linq;

namespace Teletherapy.Signaling.Tests.Architecture;

/// <summary>
/// Signaling composes Scheduling and MediaRelay; those two never know each other, and MediaRelay stays
/// free of ASP.NET Core so it can run as its own media node. Checked on the compiled assemblies and on
/// the project files (a reference that is declared but not yet used would still creep in).
/// </summary>
public sealed class DependencyDirectionTests
{
    private static readonly Assembly MediaRelay = typeof(Teletherapy.MediaRelay.MediaOptions).Assembly;
    private static readonly Assembly Scheduling = typeof(Teletherapy.Scheduling.SchedulingOptions).Assembly;

    [Fact]
    public void MediaRelay_references_neither_Scheduling_nor_AspNetCore()
    {
        var references = ReferencedAssemblyNames(MediaRelay);
        Assert.DoesNotContain("Teletherapy.Scheduling", references);
        Assert.DoesNotContain("Teletherapy.Signaling", references);
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));

        var project = ProjectFile("src/MediaRelay/Teletherapy.MediaRelay.csproj");
        Assert.Empty(ProjectReferences(project));
        Assert.DoesNotContain(PackageReferences(project), p => p.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Equal("Microsoft.NET.Sdk", project.Root!.Attribute("Sdk")!.Value);
    }

    [Fact]
    public void Scheduling_references_neither_MediaRelay_nor_AspNetCore()
    {
        var references = ReferencedAssemblyNames(Scheduling);
        Assert.DoesNotContain("Teletherapy.MediaRelay", references);
        Assert.DoesNotContain("Teletherapy.Signaling", references);
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));

        var project = ProjectFile("src/Scheduling/Teletherapy.Scheduling.csproj");
        Assert.Empty(ProjectReferences(project));
        Assert.Equal("Microsoft.NET.Sdk", project.Root!.Attribute("Sdk")!.Value);
    }

    [Fact]
    public void Signaling_composes_both_modules()
    {
        var references = ReferencedAssemblyNames(typeof(Program).Assembly);
        Assert.Contains("Teletherapy.MediaRelay", references);
        Assert.Contains("Teletherapy.Scheduling", references);
    }

    [Fact]
    public void The_client_side_WebRTC_stack_is_not_shipped_with_the_server()
    {
        Assert.DoesNotContain("Teletherapy.MediaRelay.Client", ReferencedAssemblyNames(typeof(Program).Assembly));
        Assert.DoesNotContain(ProjectReferences(ProjectFile("src/Signaling/Teletherapy.Signaling.csproj")), r => r.Contains("MediaRelay.Client", StringComparison.Ordinal));

        // The client builds on the relay, never the other way round.
        Assert.Equal(
            ["../MediaRelay/Teletherapy.MediaRelay.csproj"],
            ProjectReferences(ProjectFile("src/MediaRelay.Client/Teletherapy.MediaRelay.Client.csproj")));
    }

    private static HashSet<string> ReferencedAssemblyNames(Assembly assembly) =>
        assembly.GetReferencedAssemblies().Select(a => a.Name!).ToHashSet(StringComparer.Ordinal);

    private static IEnumerable<string> ProjectReferences(XDocument project) =>
        project.Descendants("ProjectReference").Select(e => e.Attribute("Include")!.Value);

    private static IEnumerable<string> PackageReferences(XDocument project) =>
        project.Descendants("PackageReference").Select(e => e.Attribute("Include")!.Value);

    private static XDocument ProjectFile(string relativePath)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Teletherapy.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return XDocument.Load(Path.Combine(dir.FullName, relativePath));
    }
}
