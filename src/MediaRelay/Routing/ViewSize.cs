namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// How large a subscriber's page shows a video track, in device pixels (the tile's CSS size × the page's
/// devicePixelRatio), and so which simulcast encodings it needs at most: the smallest encoding arriving now whose
/// picture covers the view. The page shows video scaled to fit its tile whole (CSS <c>object-fit: contain</c>), so an
/// encoding covers the view when it is at least as wide as the tile or at least as high: the side that touches the
/// tile's edge decides. Encodings larger than that one are of no use to the subscriber; the bandwidth allocator leaves
/// them out (it still picks lower ones when the link is short). 0×0 is a tile out of sight: the smallest encoding
/// arriving. No cap when the view's size is not known (<see cref="None"/>), no encoding's size is known (the relay learns
/// them from VP8 keyframes only), or none covers the view.
/// </summary>
internal readonly record struct ViewSize(int Width, int Height)
{
    /// <summary>The largest side a view may have: VP8 pictures have at most 16383 pixels a side (RFC 6386 §9.1).</summary>
    public const int MaxSide = 16384;

    /// <summary>No size was given: every encoding may go.</summary>
    public static readonly ViewSize None = new(-1, -1);

    public bool IsNone => Width < 0;

    public bool IsHidden => Width == 0 && Height == 0;

    /// <summary>0×0, or both sides from 1 to <see cref="MaxSide"/>.</summary>
    public static bool IsValid(int width, int height) =>
        (width == 0 && height == 0) || (width is > 0 and <= MaxSide && height is > 0 and <= MaxSide);

    /// <summary>
    /// The encoding this view needs at most, among those arriving now, given as their picture sizes (0×0: not arriving,
    /// or its size is not known yet); <see cref="Consumer.Paused"/> when the view puts no cap on the encodings.
    /// </summary>
    public int Covering(ReadOnlySpan<PictureSize> encodings)
    {
        if (IsNone)
        {
            return Consumer.Paused;
        }

        var best = Consumer.Paused;
        for (var i = 0; i < encodings.Length; i++)
        {
            var size = encodings[i];
            if (size.IsKnown && (IsHidden || size.Width >= Width || size.Height >= Height)
                && (best < 0 || size.Pixels < encodings[best].Pixels))
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// Whether <paramref name="encoding"/> is larger than the one that covers the view (<see cref="Covering"/>), among
    /// the same encodings; false when the view puts no cap on them or the encoding's size is not known.
    /// </summary>
    public bool Exceeds(ReadOnlySpan<PictureSize> encodings, int encoding)
    {
        var cap = Covering(encodings);
        if (cap < 0 || encoding == cap || (uint)encoding >= (uint)encodings.Length)
        {
            return false;
        }

        var size = encodings[encoding];
        return size.IsKnown && size.Pixels > encodings[cap].Pixels;
    }
}

/// <summary>The size of an encoding's pictures as its last keyframe gave it; 0×0 when not known.</summary>
internal readonly record struct PictureSize(int Width, int Height)
{
    public bool IsKnown => Width > 0 && Height > 0;

    public long Pixels => (long)Width * Height;

    /// <summary>Packed for an atomic write: width in the high half, height in the low.</summary>
    public int Packed => (Width << 16) | Height;

    public static PictureSize Unpack(int packed) => new(packed >>> 16, packed & 0xFFFF);
}
