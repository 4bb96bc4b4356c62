using System.Text.RegularExpressions;

namespace Teletherapy.LoadTests.Targets;

/// <summary>
/// Finds join tokens in the server's outbox: with no SMTP configured, every email is an .eml file in
/// <c>$TELETHERAPY_DATA/outbox/</c>, and the scheduled-appointment email to a contact carries the link
/// <c>/join/{token}</c>. Each synthetic patient has an address of its own, so the file that names it is its email.
/// Cluster nodes each write to their own outbox (the node whose sender took the email), so several folders are read.
/// </summary>
internal sealed partial class OutboxJoinLinks(IReadOnlyList<string> outboxes) : IDisposable
{
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _tokensByEmail = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _scan = new(1, 1);

    public async Task<string> WaitForTokenAsync(string email, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await _scan.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_tokensByEmail.TryGetValue(email, out var token))
                {
                    return token;
                }

                await ScanAsync(cancellationToken).ConfigureAwait(false);
                if (_tokensByEmail.TryGetValue(email, out token))
                {
                    return token;
                }
            }
            finally
            {
                _scan.Release();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No email to {email} with a join link appeared in {string.Join(" or ", outboxes)} within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => _scan.Dispose();

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        foreach (var file in outboxes.Where(Directory.Exists).SelectMany(o => Directory.EnumerateFiles(o, "*.eml")))
        {
            if (_read.Contains(file))
            {
                continue;
            }

            string text;
            try
            {
                text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                continue; // still being written: read it next time
            }

            // Quoted-printable soft line breaks (RFC 2045 §6.7) may split the link.
            var unfolded = text.Replace("=\r\n", string.Empty, StringComparison.Ordinal).Replace("=\n", string.Empty, StringComparison.Ordinal);
            // A long To header is folded (RFC 5322 §2.2.3): a quoted name on one line, the address on the next.
            var to = ToHeader().Match(FoldedHeaderLine().Replace(unfolded, " "));
            var link = JoinLink().Match(unfolded);
            if (!to.Success || !link.Success)
            {
                continue;
            }

            _read.Add(file);
            _tokensByEmail.TryAdd(to.Groups[1].Value, link.Groups[1].Value);
        }
    }

    [GeneratedRegex(@"^To:[^\r\n]*?<?([A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+)>?\s*$", RegexOptions.Multiline)]
    private static partial Regex ToHeader();

    [GeneratedRegex(@"\r?\n[ \t]+")]
    private static partial Regex FoldedHeaderLine();

    [GeneratedRegex(@"/join/([A-Za-z0-9_\-]{20,})")]
    private static partial Regex JoinLink();
}
