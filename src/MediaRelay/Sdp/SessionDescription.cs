using System.Text;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// A session description (RFC 8866): origin, session-level lines and attributes, and the media sections in
/// order. Parsing keeps every line it does not interpret so <see cref="ToString"/> reproduces it.
/// </summary>
internal sealed class SessionDescription
{
    internal const string LineEnd = "\r\n";

    public SdpOrigin Origin { get; set; } = SdpOrigin.Default;

    public string SessionName { get; set; } = "-";

    /// <summary>Session-level lines other than v=, o=, s= and a= (t=, c=, b=, ...), in order.</summary>
    public IList<SdpLine> Fields { get; } = new List<SdpLine>();

    public IList<SdpAttribute> Attributes { get; } = new List<SdpAttribute>();

    public IList<MediaDescription> Media { get; } = new List<MediaDescription>();

    public IReadOnlyList<SdpGroup> Groups => Attributes.ParseAll<SdpGroup>("group", SdpGroup.TryParse);

    /// <summary>The mids of the first BUNDLE group (RFC 9143 §7.1); empty when there is none.</summary>
    public IReadOnlyList<string> BundleMids
    {
        get
        {
            foreach (SdpGroup group in Groups)
            {
                if (group.Semantics == "BUNDLE")
                {
                    return group.Mids;
                }
            }

            return [];
        }
    }

    /// <summary>RFC 8445 §2.5 / RFC 8839 §5.3: the agent only answers checks.</summary>
    public bool IceLite
    {
        get => Attributes.Has("ice-lite");
        set => Attributes.SetFlag("ice-lite", value);
    }

    public string? IceUfrag => Attributes.ValueOf("ice-ufrag");

    public string? IcePwd => Attributes.ValueOf("ice-pwd");

    public IReadOnlyList<string> IceOptions => Attributes.SplitValue("ice-options");

    public SdpFingerprint? Fingerprint => Attributes.ParseFirst<SdpFingerprint>("fingerprint", SdpFingerprint.TryParse);

    public string? Setup => Attributes.ValueOf("setup");

    public MediaDescription? FindMedia(string mid)
    {
        foreach (MediaDescription media in Media)
        {
            if (media.Mid == mid)
            {
                return media;
            }
        }

        return null;
    }

    /// <summary>Serializes with CRLF line ends (RFC 8866 §5).</summary>
    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append("v=0").Append(LineEnd);
        builder.Append("o=").Append(Origin.ToString()).Append(LineEnd);
        builder.Append("s=").Append(SessionName).Append(LineEnd);
        foreach (SdpLine field in Fields)
        {
            builder.Append(field.Type).Append('=').Append(field.Value).Append(LineEnd);
        }

        foreach (SdpAttribute attribute in Attributes)
        {
            builder.Append("a=").Append(attribute.ToString()).Append(LineEnd);
        }

        foreach (MediaDescription media in Media)
        {
            media.AppendTo(builder);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Parses a description. Accepts LF as well as CRLF line ends (RFC 8866 §5 asks parsers to); requires v=0
    /// first and an o= line; returns false rather than throwing on anything else it cannot read.
    /// </summary>
    public static bool TryParse(string? text, out SessionDescription? description)
    {
        description = null;
        if (text is null)
        {
            return false;
        }

        var session = new SessionDescription();
        MediaDescription? current = null;
        bool sawVersion = false;
        bool sawOrigin = false;
        bool sawName = false;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0)
            {
                continue;
            }

            // RFC 8866 §5: <type>=<value>, the type a single lower-case letter.
            if (line.Length < 2 || line[1] != '=' || !char.IsAsciiLetterLower(line[0]))
            {
                return false;
            }

            char type = line[0];
            string value = line[2..];
            if (!sawVersion)
            {
                if (type != 'v' || value != "0")
                {
                    return false;
                }

                sawVersion = true;
                continue;
            }

            switch (type)
            {
                case 'v':
                    return false;
                case 'o':
                    if (current is not null || sawOrigin || !SdpOrigin.TryParse(value, out SdpOrigin? origin) || origin is null)
                    {
                        return false;
                    }

                    session.Origin = origin;
                    sawOrigin = true;
                    break;
                case 's':
                    if (current is not null || sawName)
                    {
                        return false;
                    }

                    session.SessionName = value;
                    sawName = true;
                    break;
                case 'm':
                    if (!MediaDescription.TryParseMediaLine(value, out MediaDescription? media) || media is null)
                    {
                        return false;
                    }

                    session.Media.Add(media);
                    current = media;
                    break;
                case 'a':
                    (current?.Attributes ?? session.Attributes).Add(SdpAttribute.Parse(value));
                    break;
                default:
                    (current?.Fields ?? session.Fields).Add(new SdpLine(type, value));
                    break;
            }
        }

        if (!sawOrigin)
        {
            return false;
        }

        description = session;
        return true;
    }
}
