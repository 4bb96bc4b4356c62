using System.Text.Json;
using Microsoft.Playwright;
using Teletherapy.MediaRelay.Routing;

namespace Teletherapy.EndToEnd;

/// <summary>
/// One participant in real Chromium, driven straight against a relay <see cref="RouterPeer"/>: a publish connection
/// (camera and microphone, optionally three simulcast layers by rid) and a subscribe connection whose video is played in
/// a &lt;video&gt; element, with the getStats figures the quality tests read.
/// </summary>
public sealed class MediaPeer
{
    private const string Script = """
        window.qt = {
          async publish(simulcast, width, height, capped) {
            this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height, frameRate: 30 } });
            const pc = this.pub = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
            pc.addTransceiver(this.stream.getAudioTracks()[0], { direction: 'sendonly', streams: [this.stream] });
            const init = { direction: 'sendonly', streams: [this.stream] };
            if (simulcast) {
              init.sendEncodings = [
                { rid: 'q', scaleResolutionDownBy: 4 },
                { rid: 'h', scaleResolutionDownBy: 2 },
                { rid: 'f', scaleResolutionDownBy: 1 },
              ];
              if (capped) {
                init.sendEncodings[0].maxBitrate = 150000;
                init.sendEncodings[1].maxBitrate = 500000;
                init.sendEncodings[2].maxBitrate = 1500000;
              }
            }
            const video = pc.addTransceiver(this.stream.getVideoTracks()[0], init);
            try {
              // The layer a receiver gets must show in its frame height: no resolution drops for CPU on a busy machine.
              const parameters = video.sender.getParameters();
              parameters.degradationPreference = 'maintain-resolution';
              await video.sender.setParameters(parameters);
            } catch { }
            await pc.setLocalDescription(await pc.createOffer());
            return pc.localDescription.sdp;
          },
          async publishAnswer(sdp) { await this.pub.setRemoteDescription({ type: 'answer', sdp }); },
          async subscribe(sdp) {
            if (!this.sub) {
              this.sub = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
              this.sub.ontrack = (e) => {
                if (e.track.kind !== 'video') return;
                const v = document.createElement('video');
                v.muted = true; v.autoplay = true; v.playsInline = true;
                v.srcObject = new MediaStream([e.track]);
                document.body.appendChild(v);
                v.play().catch(() => undefined);
              };
            }
            await this.sub.setRemoteDescription({ type: 'offer', sdp });
            await this.sub.setLocalDescription(await this.sub.createAnswer());
            return this.sub.localDescription.sdp;
          },
          state(which) { return this[which] ? this[which].connectionState : 'none'; },
          async inboundVideo() {
            const report = await this.sub.getStats();
            let v = null;
            report.forEach((s) => {
              if (s.type === 'inbound-rtp' && s.kind === 'video') {
                v = { frameHeight: s.frameHeight ?? 0, framesDecoded: s.framesDecoded ?? 0, freezeCount: s.freezeCount ?? 0,
                      totalFreezesDuration: s.totalFreezesDuration ?? 0, nackCount: s.nackCount ?? 0, packetsLost: s.packetsLost ?? 0,
                      retransmittedPacketsReceived: s.retransmittedPacketsReceived ?? 0, packetsReceived: s.packetsReceived ?? 0 };
              }
            });
            return v ?? { frameHeight: 0, framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0, nackCount: 0, packetsLost: 0, retransmittedPacketsReceived: 0, packetsReceived: 0 };
          },
          async outbound() {
            const report = await this.pub.getStats();
            let available = 0, nackCount = 0, retransmitted = 0, layers = [], frames = [];
            report.forEach((s) => {
              if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) available = Math.max(available, s.availableOutgoingBitrate);
              if (s.type === 'outbound-rtp' && s.kind === 'video') {
                nackCount += s.nackCount ?? 0; retransmitted += s.retransmittedPacketsSent ?? 0;
                frames.push((s.rid ?? '-') + '=' + (s.framesEncoded ?? 0));
                layers.push((s.rid ?? '-') + ':' + (s.frameHeight ?? 0) + ':' + Math.round((s.targetBitrate ?? 0) / 1000) + ':' + (s.framesEncoded ?? 0) + ':' + (s.qualityLimitationReason ?? ''));
              }
            });
            return { available, nackCount, retransmitted, layers: layers.join(' '), frames: frames.join(';') };
          },
          async localPort(which) {
            const report = await this[which].getStats();
            let port = 0;
            report.forEach((s) => {
              if (s.type === 'transport' && s.selectedCandidatePairId) {
                const pair = report.get(s.selectedCandidatePairId);
                const local = pair && report.get(pair.localCandidateId);
                if (local) port = local.port;
              }
            });
            return port;
          },
        };
        """;

    private MediaPeer(IPage page, RouterPeer peer, ImpairedUdpLink? link)
    {
        Page = page;
        Peer = peer;
        Link = link;
    }

    public IPage Page { get; }

    public RouterPeer Peer { get; }

    public ImpairedUdpLink? Link { get; }

    public static async Task<MediaPeer> OpenAsync(Browser browser, string baseUrl, Router router, string id, ImpairedUdpLink? link = null)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(baseUrl + "/healthz");
        await page.EvaluateAsync(Script);
        var peer = router.GetOrAddPeer(id);
        peer.Admit();
        return new MediaPeer(page, peer, link);
    }

    /// <summary>Publishes camera and microphone; <paramref name="capped"/> sets the layers' maxBitrate to 150/500/1500 kbit/s.</summary>
    public async Task PublishAsync(bool simulcast, int width = 1280, int height = 720, bool capped = true)
    {
        var offer = await Page.EvaluateAsync<string>("([s, w, h, c]) => window.qt.publish(s, w, h, c)", new object[] { simulcast, width, height, capped });
        var result = Peer.Publish(offer);
        Assert.True(result.Succeeded, result.Error);
        await Page.EvaluateAsync("sdp => window.qt.publishAnswer(sdp)", Rewrite(result.Sdp!));
        await WaitForAsync("pub");
    }

    public async Task SubscribeAsync()
    {
        var offer = Peer.CreateSubscribeOffer();
        Assert.True(offer.Succeeded, offer.Error);
        var answer = await Page.EvaluateAsync<string>("sdp => window.qt.subscribe(sdp)", Rewrite(offer.Sdp!));
        var applied = Peer.ApplySubscribeAnswer(answer);
        Assert.True(applied.Succeeded, applied.Error);
        await WaitForAsync("sub");
    }

    public async Task<InboundVideo> InboundVideoAsync() =>
        (await Page.EvaluateAsync<JsonElement>("() => window.qt.inboundVideo()")).Deserialize<InboundVideo>(JsonOptions)!;

    public async Task<OutboundVideo> OutboundVideoAsync() =>
        (await Page.EvaluateAsync<JsonElement>("() => window.qt.outbound()")).Deserialize<OutboundVideo>(JsonOptions)!;

    /// <summary>The browser's UDP port of a connection ("pub" or "sub"): where the relay's packets to it go.</summary>
    public Task<int> LocalPortAsync(string which) => Page.EvaluateAsync<int>("w => window.qt.localPort(w)", which);

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private string Rewrite(string sdp) => Link is null ? sdp : Link.Rewrite(sdp);

    private async Task WaitForAsync(string which)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var state = await Page.EvaluateAsync<string>("w => window.qt.state(w)", which);
            if (state == "connected")
            {
                return;
            }

            Assert.True(state != "failed" && DateTime.UtcNow < deadline, $"{Peer.Id}'s {which} connection is {state}");
            await Task.Delay(100);
        }
    }
}

public sealed record InboundVideo(
    int FrameHeight,
    long FramesDecoded,
    long FreezeCount,
    double TotalFreezesDuration,
    long NackCount,
    long PacketsLost,
    long RetransmittedPacketsReceived,
    long PacketsReceived);

/// <summary>The publisher's video: Chrome's send-side estimate, NACKs and resends, each layer as rid:height:target kbit/s:frames:limitation, frames encoded as rid=count;….</summary>
public sealed record OutboundVideo(double Available, long NackCount, long Retransmitted, string Layers, string Frames)
{
    /// <summary>Frames encoded so far on the layer with this rid ("-" without simulcast); 0 when there is no such layer.</summary>
    public long FramesEncoded(string rid) =>
        Frames.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Split('=')).Where(f => f[0] == rid).Select(f => long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
}
