namespace Teletherapy.MediaRelay.Stun;

/// <summary>STUN methods (RFC 8489 §18.2) and the packing of method and class into the 14-bit message type (§5).</summary>
internal static class StunMethod
{
    public const ushort Binding = 0x001;

    // RFC 8489 §5: the class bits C1/C0 sit at positions 8 and 4 so that the method's bits are split
    // into M0-M3, M4-M6 and M7-M11 around them.
    public static ushort ToMessageType(StunClass stunClass, ushort method)
    {
        int c = (int)stunClass;
        int type = (method & 0x000F)
            | ((method & 0x0070) << 1)
            | ((method & 0x0F80) << 2)
            | ((c & 0b01) << 4)
            | ((c & 0b10) << 7);
        return (ushort)type;
    }

    public static StunClass ClassOf(ushort messageType) =>
        (StunClass)(((messageType >> 4) & 0b01) | ((messageType >> 7) & 0b10));

    public static ushort MethodOf(ushort messageType) =>
        (ushort)((messageType & 0x000F) | ((messageType >> 1) & 0x0070) | ((messageType >> 2) & 0x0F80));
}
