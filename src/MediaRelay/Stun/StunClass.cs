namespace Teletherapy.MediaRelay.Stun;

/// <summary>The class of a STUN message, carried in bits C1 and C0 of the message type (RFC 8489 §5).</summary>
internal enum StunClass
{
    Request = 0b00,
    Indication = 0b01,
    SuccessResponse = 0b10,
    ErrorResponse = 0b11,
}
