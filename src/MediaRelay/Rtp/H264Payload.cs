using System.Buffers.Binary;

namespace Teletherapy.MediaRelay.Rtp;

/// <summary>Keyframe detection on H.264 RTP payloads (RFC 6184 §5.2, §5.7.1, §5.8).</summary>
internal static class H264Payload
{
    private const int NalIdr = 5;
    private const int NalSps = 7;
    private const int StapA = 24;
    private const int FuA = 28;

    /// <summary>
    /// True when the payload starts an IDR picture or carries an SPS, which a decoder needs to start:
    /// a single NAL unit of type 5 or 7, such a unit inside a STAP-A, or the first fragment (S=1) of one in a FU-A.
    /// </summary>
    public static bool IsKeyframe(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return false;
        }

        int type = payload[0] & 0x1F;
        switch (type)
        {
            case NalIdr:
            case NalSps:
                return true;
            case StapA:
                // RFC 6184 §5.7.1: after the STAP-A header, each unit is a 16-bit size then the NAL unit.
                int offset = 1;
                while (offset + 2 < payload.Length)
                {
                    int size = BinaryPrimitives.ReadUInt16BigEndian(payload[offset..]);
                    offset += 2;
                    if (size == 0 || offset + size > payload.Length)
                    {
                        return false;
                    }

                    int inner = payload[offset] & 0x1F;
                    if (inner is NalIdr or NalSps)
                    {
                        return true;
                    }

                    offset += size;
                }

                return false;
            case FuA:
                // RFC 6184 §5.8: FU header S bit marks the first fragment; its low 5 bits are the NAL type.
                if (payload.Length < 2)
                {
                    return false;
                }

                bool start = (payload[1] & 0x80) != 0;
                int fragmentType = payload[1] & 0x1F;
                return start && fragmentType is NalIdr or NalSps;
            default:
                return false;
        }
    }
}
