namespace Teletherapy.Scheduling.Data;

/// <summary>The two databases we speak. Every SQL difference between them is decided in this file or in the per-dialect migrations.</summary>
public enum SqlDialect
{
    Sqlite,
    Postgres,
}
