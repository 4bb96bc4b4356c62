namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// <c>a=simulcast:[send &lt;streams&gt;] [recv &lt;streams&gt;]</c> (RFC 8853 §5.1): streams are separated by ';',
/// each stream lists alternative rids separated by ','.
/// </summary>
internal sealed record SdpSimulcast(IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> Send, IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> Receive)
{
    public override string ToString()
    {
        var parts = new List<string>(2);
        if (Send.Count > 0)
        {
            parts.Add("send " + Format(Send));
        }

        if (Receive.Count > 0)
        {
            parts.Add("recv " + Format(Receive));
        }

        return string.Join(' ', parts);
    }

    public static bool TryParse(string? value, out SdpSimulcast? simulcast)
    {
        simulcast = null;
        if (value is null)
        {
            return false;
        }

        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (2 or 4))
        {
            return false;
        }

        IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> send = [];
        IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> receive = [];
        for (int i = 0; i < parts.Length; i += 2)
        {
            if (!TryParseStreams(parts[i + 1], out IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> streams))
            {
                return false;
            }

            switch (parts[i])
            {
                case "send" when send.Count == 0:
                    send = streams;
                    break;
                case "recv" when receive.Count == 0:
                    receive = streams;
                    break;
                default:
                    return false;
            }
        }

        simulcast = new SdpSimulcast(send, receive);
        return true;
    }

    private static bool TryParseStreams(string text, out IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> streams)
    {
        var result = new List<IReadOnlyList<SdpSimulcastLayer>>();
        streams = result;
        foreach (string stream in text.Split(';'))
        {
            var alternatives = new List<SdpSimulcastLayer>();
            foreach (string rid in stream.Split(','))
            {
                bool paused = rid.StartsWith('~');
                string id = paused ? rid[1..] : rid;
                if (id.Length == 0)
                {
                    return false;
                }

                alternatives.Add(new SdpSimulcastLayer(id, paused));
            }

            result.Add(alternatives);
        }

        return true;
    }

    private static string Format(IReadOnlyList<IReadOnlyList<SdpSimulcastLayer>> streams) =>
        string.Join(';', streams.Select(alternatives => string.Join(',', alternatives)));
}
