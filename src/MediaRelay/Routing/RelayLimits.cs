using System.Text;
using Teletherapy.MediaRelay.Sdp;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// The caps on what one caller can make the relay parse and hold (<see cref="MediaOptions"/>). An SDP is measured
/// before it is parsed: its size and its count of m-lines are read off the text in one pass that allocates nothing,
/// so a megabyte or a thousand m-lines are refused in microseconds rather than parsed into objects first.
/// </summary>
internal sealed class RelayLimits
{
    /// <summary>What one more m-line of a subscribe answer may add to <see cref="MediaOptions.MaxSdpBytes"/>.</summary>
    public const int AnswerBytesPerMediaSection = 4096;

    private readonly MediaOptions _options;

    public RelayLimits(MediaOptions options)
    {
        _options = options;
    }

    public int MaxPeersPerRouter => _options.MaxPeersPerRouter;

    public int MaxTransports => _options.MaxTransports;

    /// <summary>A publish or connection-test offer: at most <see cref="MediaOptions.MaxSdpBytes"/> and <see cref="MediaOptions.MaxMediaSectionsPerOffer"/> m-lines.</summary>
    public NegotiationResult? CheckOffer(string sdp)
    {
        if (!FitsSize(sdp, _options.MaxSdpBytes))
        {
            return NegotiationResult.Refused(MediaLimits.SdpSize, $"The offer is larger than {_options.MaxSdpBytes} bytes.");
        }

        if (CountMediaSections(sdp, _options.MaxMediaSectionsPerOffer) > _options.MaxMediaSectionsPerOffer)
        {
            return NegotiationResult.Refused(MediaLimits.MediaSections, $"The offer has more than {_options.MaxMediaSectionsPerOffer} m-lines.");
        }

        return null;
    }

    /// <summary>
    /// A subscribe answer: exactly one m-line per offered one (RFC 3264 §6) is checked after parsing; here it may not
    /// have more, nor be larger than the offer size limit plus <see cref="AnswerBytesPerMediaSection"/> per m-line.
    /// </summary>
    public NegotiationResult? CheckAnswer(string sdp, int offeredMediaSections)
    {
        var maxBytes = _options.MaxSdpBytes + (offeredMediaSections * AnswerBytesPerMediaSection);
        if (!FitsSize(sdp, maxBytes))
        {
            return NegotiationResult.Refused(MediaLimits.SdpSize, $"The answer is larger than {maxBytes} bytes.");
        }

        if (CountMediaSections(sdp, offeredMediaSections) > offeredMediaSections)
        {
            return NegotiationResult.Fail($"The answer has more m-lines than the {offeredMediaSections} offered.");
        }

        return null;
    }

    /// <summary>RFC 8853: at most <see cref="MediaOptions.MaxSimulcastLayers"/> send streams (and send rids) per m-line.</summary>
    public NegotiationResult? CheckSimulcast(SessionDescription offer)
    {
        foreach (var media in offer.Media)
        {
            var streams = media.Simulcast?.Send.Count ?? 0;
            var rids = 0;
            foreach (var rid in media.Rids)
            {
                rids += rid.IsSend ? 1 : 0;
            }

            if (Math.Max(streams, rids) > _options.MaxSimulcastLayers)
            {
                return NegotiationResult.Refused(
                    MediaLimits.SimulcastLayers,
                    $"An m-line of the offer has more than {_options.MaxSimulcastLayers} simulcast layers.");
            }
        }

        return null;
    }

    /// <summary>UTF-8 size at most <paramref name="maxBytes"/>; a string longer in characters is refused without counting.</summary>
    internal static bool FitsSize(string sdp, int maxBytes) =>
        sdp.Length <= maxBytes && Encoding.UTF8.GetByteCount(sdp) <= maxBytes;

    /// <summary>Lines starting <c>m=</c> (RFC 8866 §5.14), counted up to one past <paramref name="stopAfter"/>.</summary>
    internal static int CountMediaSections(ReadOnlySpan<char> sdp, int stopAfter)
    {
        var count = sdp.StartsWith("m=", StringComparison.Ordinal) ? 1 : 0;
        while (count <= stopAfter)
        {
            var next = sdp.IndexOf("\nm=", StringComparison.Ordinal);
            if (next < 0)
            {
                break;
            }

            count++;
            sdp = sdp[(next + 3)..];
        }

        return count;
    }
}
