using Teletherapy.LoadTests.Targets;

namespace Teletherapy.LoadTests.Tests;

public sealed class OutboxJoinLinksTests
{
    [Fact]
    public async Task AFoldedToHeaderStillNamesTheContact()
    {
        var outbox = Directory.CreateTempSubdirectory("load-test-outbox-").FullName;
        try
        {
            // A quoted name and a long address: the header is folded onto two lines, and the body's link by quoted-printable.
            await File.WriteAllTextAsync(Path.Combine(outbox, "a.eml"), string.Join("\r\n",
                "From: Clinic <clinic@example.org>",
                "To: \"Load Contact 12.3\"",
                " <contact-20261205200721-0857c9-12-3@loadtest.example.org>",
                "Subject: Your teletherapy appointment",
                string.Empty,
                "Join the session: http://127.0.0.1:5080/join/y_diBdGAONTeO5EObv39rbyMQVjyV=",
                "23vAxyz",
                string.Empty));
            using var links = new OutboxJoinLinks([outbox]);
            var token = await links.WaitForTokenAsync("contact-20261205200721-0857c9-12-3@loadtest.example.org", TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.Equal("y_diBdGAONTeO5EObv39rbyMQVjyV23vAxyz", token);
        }
        finally
        {
            Directory.Delete(outbox, recursive: true);
        }
    }
}
