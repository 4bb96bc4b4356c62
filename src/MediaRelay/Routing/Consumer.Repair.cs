using System.Buffers;
using Teletherapy.MediaRelay.Rtp;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Routing;

/// <summary>
/// How a consumer answers its subscriber's NACKs: from its <see cref="SentPacketHistory"/> and the producer's
/// <see cref="RetransmissionBuffer"/>, within its <see cref="RepairBudget"/>, twice on a lossy link
/// (<see cref="RepairPolicy"/>), and watching a climb on the way (<see cref="ClimbWatcher"/>). It shares the lock, the
/// layers, the writer and the counters with forwarding.
/// </summary>
internal sealed partial class Consumer
{
    /// <summary>Packets resent in answer to the subscriber's NACKs (as RTX when negotiated).</summary>
    public long Retransmissions { get; private set; }

    public long RtxPacketsSent { get; private set; }

    public long RtxOctetsSent { get; private set; }

    /// <summary>
    /// The subscriber's answer kept our RTX payload type (RFC 4588 §8.6): retransmissions then go on the RTX SSRC with
    /// the original sequence number in front of the payload, so the receiver's loss and jitter statistics of the media
    /// SSRC stay clean. Without it they are resent as they were.
    /// </summary>
    public bool RtxEnabled
    {
        get => _rtxEnabled;
        set => _rtxEnabled = value && Parameters.RtxSsrc is not null && Parameters.Codec.RtxPayloadType is not null;
    }

    /// <summary>
    /// A NACK from the subscriber named our sequence number <paramref name="sequence"/> (RFC 4585 §6.2.1): resend it from the
    /// producer's retransmission buffer, rewritten exactly as first sent, on the RTX SSRC when negotiated (RFC 4588 §4).
    /// False when the packet is no longer there.
    /// </summary>
    public bool Retransmit(ushort sequence)
    {
        if (_history is not { } history || IsClosed || !Gate.IsOpen || !_transport.IsConnected)
        {
            return false;
        }

        if (history.Contains(sequence))
        {
            // We sent it and the subscriber lost it: its own link is lossy. (A packet the publisher's link lost never
            // went out, so is not in the history; that loss is the publisher's, counted by the producer.)
            _subscriberLoss.Record(1, _clock.Now);
        }

        var original = ArrayPool<byte>.Shared.Rent(RetransmissionBuffer.MaxPacketLength);
        var buffer = ArrayPool<byte>.Shared.Rent(RetransmissionBuffer.MaxPacketLength + OutgoingRtpWriter.MaxAddedHeaderBytes + WebRtcTransport.MaxProtectionOverhead);
        try
        {
            int length;
            lock (_lock)
            {
                if (!history.TryGet(sequence, out var sent) || sent.Encoding != _layers.Current)
                {
                    // Not ours, or from a layer we have since left: the subscriber's decoder starts afresh on the new
                    // layer's keyframe, so resending the old one would only crowd a link we left it for.
                    return false;
                }

                if (_climb.IsWatching && history.MarkNacked(sequence))
                {
                    _climb.OnNacked(_clock.Now);
                }

                var copied = Producer.CopyForRetransmission(sent.Encoding, sent.Original, original);
                if (copied == 0 || !RtpHeader.TryRead(original.AsSpan(0, copied), out var header))
                {
                    return false;
                }

                if (!_repairBudget.TrySpend(copied, RepairPolicy.BudgetRate(Producer.GetEncodingBitrate(sent.Encoding)), _clock.Now))
                {
                    RelayMetrics.RetransmissionsOverBudget.Inc();
                    return false;
                }

                var timestamp = header.Timestamp + sent.TimestampOffset;
                var packet = original.AsSpan(0, copied);
                if (_rtxEnabled)
                {
                    var rtx = new OutgoingRtp(Parameters.RtxSsrc!.Value, (byte)Parameters.Codec.RtxPayloadType!.Value, _rtxSequence++, timestamp, sent.Vp8, Newest: false, OriginalSequence: sequence);
                    length = _writer.Write(packet, header, buffer, rtx);
                    RtxPacketsSent++;
                    RtxOctetsSent += header.PayloadLength + 2;
                }
                else
                {
                    length = _writer.Write(packet, header, buffer, new OutgoingRtp(Parameters.Ssrc, (byte)Parameters.Codec.PayloadType, sequence, timestamp, sent.Vp8, Newest: false));
                }

                Retransmissions++;
            }

            return SendRepair(buffer, length, twice: RepairPolicy.SendTwice(_reports.FractionLost));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(original);
        }
    }

    /// <summary>
    /// The layer this consumer climbed from, when its subscriber's NACKs showed the climb failing since the last call;
    /// <see cref="Paused"/> otherwise.
    /// </summary>
    internal int TakeFailedClimb()
    {
        if (!_climb.TakeFailure())
        {
            return Paused;
        }

        lock (_lock)
        {
            return _climb.From;
        }
    }

    /// <summary>Sends a repair written into <paramref name="buffer"/>, <paramref name="twice"/> on a lossy link; true when either copy went out.</summary>
    private bool SendRepair(byte[] buffer, int length, bool twice)
    {
        // Sending encrypts in place, so the second copy is taken before the first goes.
        var copy = twice ? ArrayPool<byte>.Shared.Rent(length + WebRtcTransport.MaxProtectionOverhead) : null;
        try
        {
            if (copy is not null)
            {
                buffer.AsSpan(0, length).CopyTo(copy);
            }

            var sent = _transport.SendRtp(buffer, length);
            if (copy is not null)
            {
                sent |= _transport.SendRtp(copy, length);
            }

            if (sent)
            {
                RelayMetrics.Retransmissions.Inc();
            }

            return sent;
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }
}
