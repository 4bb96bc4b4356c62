namespace Teletherapy.Signaling.Tests.Hosting;

/// <summary>The checkout the tests run from: the folder above the test binaries that holds Teletherapy.sln.</summary>
internal static class RepositoryFolder
{
    public static string Root()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Teletherapy.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("The repository root (Teletherapy.sln) was not found.");
    }
}
