namespace Teletherapy.MediaRelay.Tests;

internal static class Hex
{
    /// <summary>Hex with any whitespace, as test vectors are printed in RFCs.</summary>
    public static byte[] Parse(string text) =>
        Convert.FromHexString(string.Concat(text.Where(c => !char.IsWhiteSpace(c))));
}
