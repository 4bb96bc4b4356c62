using System.Text;
using Teletherapy.Scheduling.JoinLinks;

namespace Teletherapy.Scheduling.Tests.Infrastructure;

/// <summary>The token search finds a token in every form an email can carry it in, and nothing else.</summary>
public sealed class StoredTextTests
{
    private static readonly string Token = JoinToken.New();

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("xy")]
    public void Finds_the_token_base64_encoded_at_every_alignment_and_wrapped(string before)
    {
        var encoded = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{before}URL:https://clinic.example/join/{Token}\r\n"));
        var wrapped = string.Join("\r\n", encoded.Chunk(76).Select(c => new string(c)));
        Assert.True(StoredText.HoldsToken(wrapped, Token));
    }

    [Fact]
    public void Finds_the_token_across_quoted_printable_soft_breaks_and_icalendar_folds()
    {
        Assert.True(StoredText.HoldsToken($"Join: https://clinic.example/join/{Token[..10]}=\r\n{Token[10..]}", Token));
        Assert.True(StoredText.HoldsToken($"DESCRIPTION:Join the session: https://clinic.example/join/{Token[..20]}\r\n {Token[20..]}", Token));
        Assert.True(StoredText.HoldsToken($"…/join/{Token}", Token));
    }

    [Fact]
    public void Finds_nothing_where_the_token_is_not()
    {
        var other = JoinToken.New();
        Assert.False(StoredText.HoldsToken($"https://clinic.example/join/{other} {Convert.ToBase64String(Encoding.ASCII.GetBytes(other))} {JoinToken.Hash(Token)}", Token));
    }
}
