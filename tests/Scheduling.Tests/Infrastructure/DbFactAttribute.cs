using System.Reflection;
using Teletherapy.Scheduling.Data;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Teletherapy.Scheduling.Tests.Infrastructure;

/// <summary>Marks a concrete test class as running its inherited database tests against one dialect.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class DialectAttribute(SqlDialect dialect) : Attribute
{
    public SqlDialect Dialect { get; } = dialect;
}

/// <summary>
/// A test that runs against the dialect of its class. PostgreSQL cases run against <c>TELETHERAPY_TEST_POSTGRES</c>;
/// without it they are reported as skipped, unless <c>CI</c> or <c>TELETHERAPY_REQUIRE_POSTGRES=1</c> is set, in which
/// case they run and fail with a clear message. They never pass silently.
/// </summary>
[XunitTestCaseDiscoverer("Teletherapy.Scheduling.Tests.Infrastructure.DbFactDiscoverer", "Teletherapy.Scheduling.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class DbFactAttribute : FactAttribute;

public sealed class DbFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        var dialect = testMethod.TestClass.Class.ToRuntimeType()?.GetCustomAttribute<DialectAttribute>()?.Dialect;
        if (dialect == SqlDialect.Postgres && PostgresTestServer.SkipReason is { } skip)
        {
            yield return new XunitSkippedDataRowTestCase(diagnosticMessageSink, display, displayOptions, testMethod, skip);
        }
        else
        {
            yield return new XunitTestCase(diagnosticMessageSink, display, displayOptions, testMethod);
        }
    }
}

/// <summary>The PostgreSQL server tests use (started by <c>./test.sh</c>).</summary>
public static class PostgresTestServer
{
    public const string Variable = "TELETHERAPY_TEST_POSTGRES";

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    public static bool Required =>
        Environment.GetEnvironmentVariable("TELETHERAPY_REQUIRE_POSTGRES") == "1"
        || Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci && ci != "0" && !ci.Equals("false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when PostgreSQL tests must run (server configured, or required by CI).</summary>
    public static string? SkipReason => ConnectionString is null && !Required
        ? $"PostgreSQL not configured: set {Variable} (./test.sh does) to run this case against PostgreSQL."
        : null;

    public static string RequireConnectionString() => ConnectionString ?? throw new InvalidOperationException(
        $"{Variable} is not set, but PostgreSQL tests are required here (CI or TELETHERAPY_REQUIRE_POSTGRES=1). Run ./test.sh, which starts a throwaway cluster, or set {Variable}.");
}
