namespace Teletherapy.LoadTests.Tests;

/// <summary>
/// The tests that run real load: one at a time, and beside no other test of this assembly, so their servers and the
/// generator have the machine's cores to themselves (loss is measured, and on two cores it is the first to suffer).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadRuns
{
    public const string Name = "Load runs";
}
