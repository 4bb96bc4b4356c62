using Teletherapy.Signaling.Hosting;

MallocArenas.Limit();
var builder = WebApplication.CreateBuilder(args);
builder.AddTeletherapy();

var app = builder.Build();
app.UseTeletherapy();
app.Run();

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
