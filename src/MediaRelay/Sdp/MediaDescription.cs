using System.Globalization;
using System.Text;

namespace Teletherapy.MediaRelay.Sdp;

/// <summary>
/// One m= section (RFC 8866 §5.14); with unified plan (RFC 9429) one per track, identified by <c>a=mid</c>.
/// Typed accessors read from <see cref="Attributes"/> each time, so edits to the list are always reflected.
/// </summary>
internal sealed class MediaDescription
{
    public MediaDescription(string media, int port, string protocol, IEnumerable<string> formats)
    {
        Media = media;
        Port = port;
        Protocol = protocol;
        Formats = [.. formats];
    }

    /// <summary>audio, video or application.</summary>
    public string Media { get; set; }

    /// <summary>0 rejects the section, or with bundle-only marks it as carried by the BUNDLE transport (RFC 9143 §7.1.3).</summary>
    public int Port { get; set; }

    public int? PortCount { get; set; }

    public string Protocol { get; set; }

    /// <summary>The format list: RTP payload types for RTP profiles.</summary>
    public IList<string> Formats { get; }

    /// <summary>Lines other than a= (c=, b=, i=, k=), in order.</summary>
    public IList<SdpLine> Fields { get; } = new List<SdpLine>();

    public IList<SdpAttribute> Attributes { get; } = new List<SdpAttribute>();

    public string? Mid
    {
        get => Attributes.ValueOf("mid");
        set => Attributes.SetValue("mid", value);
    }

    /// <summary>The direction attribute, sendrecv when none is present (RFC 8866 §6.7).</summary>
    public SdpDirection Direction
    {
        get
        {
            foreach (SdpAttribute attribute in Attributes)
            {
                if (attribute.Value is null && SdpDirectionNames.TryParse(attribute.Name, out SdpDirection direction))
                {
                    return direction;
                }
            }

            return SdpDirection.SendRecv;
        }

        set
        {
            for (int i = Attributes.Count - 1; i >= 0; i--)
            {
                if (Attributes[i].Value is null && SdpDirectionNames.TryParse(Attributes[i].Name, out _))
                {
                    Attributes.RemoveAt(i);
                }
            }

            Attributes.Add(new SdpAttribute(value.ToAttributeName()));
        }
    }

    public SdpMsid? Msid => Attributes.ParseFirst<SdpMsid>("msid", SdpMsid.TryParse);

    public string? IceUfrag => Attributes.ValueOf("ice-ufrag");

    public string? IcePwd => Attributes.ValueOf("ice-pwd");

    public IReadOnlyList<string> IceOptions => Attributes.SplitValue("ice-options");

    public SdpFingerprint? Fingerprint => Attributes.ParseFirst<SdpFingerprint>("fingerprint", SdpFingerprint.TryParse);

    /// <summary>DTLS role negotiation (RFC 4145 §4, RFC 8842 §5): active, passive, actpass or holdconn.</summary>
    public string? Setup => Attributes.ValueOf("setup");

    /// <summary>RTP and RTCP on one port (RFC 5761 §5.1.3).</summary>
    public bool RtcpMux => Attributes.Has("rtcp-mux");

    /// <summary>RFC 8858 §4: only muxed RTCP is offered.</summary>
    public bool RtcpMuxOnly => Attributes.Has("rtcp-mux-only");

    /// <summary>Reduced-size RTCP allowed (RFC 5506 §5).</summary>
    public bool RtcpReducedSize => Attributes.Has("rtcp-rsize");

    /// <summary>RFC 9143 §6: the section may only be used inside a BUNDLE group.</summary>
    public bool BundleOnly => Attributes.Has("bundle-only");

    /// <summary>RFC 8840 §4.1: no more candidates will be trickled.</summary>
    public bool EndOfCandidates => Attributes.Has("end-of-candidates");

    public IReadOnlyList<SdpExtMap> ExtMaps => Attributes.ParseAll<SdpExtMap>("extmap", SdpExtMap.TryParse);

    public IReadOnlyList<SdpRtpMap> RtpMaps => Attributes.ParseAll<SdpRtpMap>("rtpmap", SdpRtpMap.TryParse);

    public IReadOnlyList<SdpFmtp> Fmtps => Attributes.ParseAll<SdpFmtp>("fmtp", SdpFmtp.TryParse);

    public IReadOnlyList<SdpRtcpFeedback> RtcpFeedback => Attributes.ParseAll<SdpRtcpFeedback>("rtcp-fb", SdpRtcpFeedback.TryParse);

    public IReadOnlyList<SdpRid> Rids => Attributes.ParseAll<SdpRid>("rid", SdpRid.TryParse);

    public SdpSimulcast? Simulcast => Attributes.ParseFirst<SdpSimulcast>("simulcast", SdpSimulcast.TryParse);

    public IReadOnlyList<SdpSsrc> Ssrcs => Attributes.ParseAll<SdpSsrc>("ssrc", SdpSsrc.TryParse);

    public IReadOnlyList<SdpSsrcGroup> SsrcGroups => Attributes.ParseAll<SdpSsrcGroup>("ssrc-group", SdpSsrcGroup.TryParse);

    public IReadOnlyList<SdpCandidate> Candidates => Attributes.ParseAll<SdpCandidate>("candidate", SdpCandidate.TryParse);

    public SdpRtpMap? GetRtpMap(int payloadType)
    {
        foreach (SdpRtpMap map in RtpMaps)
        {
            if (map.PayloadType == payloadType)
            {
                return map;
            }
        }

        return null;
    }

    public SdpFmtp? GetFmtp(int payloadType)
    {
        foreach (SdpFmtp fmtp in Fmtps)
        {
            if (fmtp.PayloadType == payloadType)
            {
                return fmtp;
            }
        }

        return null;
    }

    /// <summary>Payload types mapped to this encoding name, compared case-insensitively, in rtpmap order.</summary>
    public IReadOnlyList<int> FindPayloadTypes(string encodingName)
    {
        var result = new List<int>();
        foreach (SdpRtpMap map in RtpMaps)
        {
            if (map.IsCodec(encodingName))
            {
                result.Add(map.PayloadType);
            }
        }

        return result;
    }

    /// <summary>The RTX payload type whose <c>apt</c> names <paramref name="payloadType"/> (RFC 4588 §8.1).</summary>
    public int? FindRtxPayloadType(int payloadType)
    {
        foreach (SdpFmtp fmtp in Fmtps)
        {
            if (fmtp.AssociatedPayloadType == payloadType && GetRtpMap(fmtp.PayloadType)?.IsCodec("rtx") == true)
            {
                return fmtp.PayloadType;
            }
        }

        return null;
    }

    public int? FindExtMapId(string uri)
    {
        foreach (SdpExtMap extMap in ExtMaps)
        {
            if (extMap.Uri == uri)
            {
                return extMap.Id;
            }
        }

        return null;
    }

    public IReadOnlyList<SdpRtcpFeedback> GetRtcpFeedback(int payloadType) =>
        RtcpFeedback.Where(feedback => feedback.AppliesTo(payloadType)).ToList();

    public void AddAttribute(string name, string? value = null) => Attributes.Add(new SdpAttribute(name, value));

    internal void AppendTo(StringBuilder builder)
    {
        builder.Append("m=").Append(Media).Append(' ').Append(Port.ToString(CultureInfo.InvariantCulture));
        if (PortCount is { } count)
        {
            builder.Append('/').Append(count.ToString(CultureInfo.InvariantCulture));
        }

        builder.Append(' ').Append(Protocol);
        foreach (string format in Formats)
        {
            builder.Append(' ').Append(format);
        }

        builder.Append(SessionDescription.LineEnd);
        foreach (SdpLine field in Fields)
        {
            builder.Append(field.Type).Append('=').Append(field.Value).Append(SessionDescription.LineEnd);
        }

        foreach (SdpAttribute attribute in Attributes)
        {
            builder.Append("a=").Append(attribute.ToString()).Append(SessionDescription.LineEnd);
        }
    }

    /// <summary><c>m=&lt;media&gt; &lt;port&gt;[/&lt;count&gt;] &lt;proto&gt; &lt;fmt&gt;...</c> (RFC 8866 §5.14).</summary>
    internal static bool TryParseMediaLine(string value, out MediaDescription? media)
    {
        media = null;
        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3)
        {
            return false;
        }

        string portText = parts[1];
        int? portCount = null;
        int slash = portText.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (!int.TryParse(portText[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            {
                return false;
            }

            portCount = count;
            portText = portText[..slash];
        }

        if (!SdpNumbers.TryParsePort(portText, out int port))
        {
            return false;
        }

        media = new MediaDescription(parts[0], port, parts[2], parts[3..]) { PortCount = portCount };
        return true;
    }
}
