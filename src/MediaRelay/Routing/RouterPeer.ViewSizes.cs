using Teletherapy.MediaRelay.Negotiation;

namespace Teletherapy.MediaRelay.Routing;

// How large the peer's page shows each video it receives, and so which simulcast encodings it needs at most (ViewSize).
public sealed partial class RouterPeer
{
    /// <summary>
    /// How large this peer's page shows the video of a stream it receives (the stream id of its subscribe offer), in device
    /// pixels; 0×0 when it is out of sight (<see cref="ViewSize"/>). The stream's video is forwarded in no larger simulcast
    /// encoding than covers that size, switching on keyframes, from now on and on any later receive connection. False, and
    /// nothing changes, for a size out of range (<see cref="ViewSize.IsValid"/>) or a stream this peer receives no video of.
    /// </summary>
    public bool SetViewSize(string streamId, int width, int height)
    {
        if (streamId is null || !ViewSize.IsValid(width, height))
        {
            return false;
        }

        var view = new ViewSize(width, height);
        TransportRouting? routing;
        lock (_lock)
        {
            var changed = 0;
            foreach (var consumer in _consumersByProducer.Values)
            {
                if (consumer.Parameters.Kind == MediaKind.Video && !consumer.IsClosed && string.Equals(consumer.Parameters.StreamId, streamId, StringComparison.Ordinal))
                {
                    consumer.View = view;
                    changed++;
                }
            }

            if (changed == 0)
            {
                return false;
            }

            _viewSizes[streamId] = view;
            routing = _subscribe;
        }

        // At once, not at the next report or housekeeping: the page resized the tile now.
        routing?.Allocator.Allocate(routing.Consumers, _context.Clock.Now, decreased: false);
        return true;
    }

    /// <summary>The view size this peer's page gave for a stream (<see cref="SetViewSize"/>), or null when none.</summary>
    internal (int Width, int Height)? GetViewSize(string streamId)
    {
        lock (_lock)
        {
            return streamId is not null && _viewSizes.TryGetValue(streamId, out var view) ? (view.Width, view.Height) : null;
        }
    }
}
