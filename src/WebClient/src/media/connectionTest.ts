/**
 * The connection test: publish camera and microphone to the relay, which sends them straight back,
 * then read getStats to tell in plain words whether video and audio came back, and how the link is.
 */

export interface ConnectionTestResult {
  videoReturned: boolean;
  audioReturned: boolean;
  roundTripMs: number | null;
  lossPercent: number | null;
  bitrateKbps: number | null;
  verdict: 'good' | 'fair' | 'poor' | 'failed';
  summary: string;
}

interface Started {
  id: string;
  answer: string;
  expiresAt: string;
  maxSeconds: number;
}

export interface ConnectionTestOptions {
  /** Seconds of media to measure (the relay allows at most 20). */
  seconds?: number;
  /** Shows the returned media while the test runs. */
  remoteVideo?: HTMLVideoElement;
  /** Progress messages for the screen. */
  onProgress?: (message: string) => void;
  /** An existing camera/microphone stream to reuse (the join page's device check). */
  stream?: MediaStream;
  /** The join link's token: TURN servers are handed to signed-in people and holders of a good link. */
  joinToken?: string;
}

export async function runConnectionTest(options: ConnectionTestOptions = {}): Promise<ConnectionTestResult> {
  const seconds = Math.min(options.seconds ?? 8, 18);
  const progress = options.onProgress ?? (() => undefined);
  const servers = await fetchIceServers(options.joinToken);
  progress('Asking for your camera and microphone…');
  const stream = options.stream ?? (await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
  const pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  const received = new MediaStream();
  pc.ontrack = (event) => {
    received.addTrack(event.track);
    if (options.remoteVideo) {
      options.remoteVideo.srcObject = received;
      void options.remoteVideo.play().catch(() => undefined);
    }
  };
  try {
    for (const track of stream.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    }
    progress('Connecting to the clinic server…');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const response = await fetch('/api/v1/check', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ offer: pc.localDescription?.sdp }),
    });
    if (response.status === 429) {
      return failed('You have run several tests in a row. Please wait a minute and try again.');
    }
    if (!response.ok) {
      return failed('The clinic server could not start the test. Please try again in a moment.');
    }
    const started = (await response.json()) as Started;
    await pc.setRemoteDescription({ type: 'answer', sdp: started.answer });
    await waitForConnection(pc, 10_000);
    progress('Connected. Measuring your connection…');
    const first = await snapshot(pc);
    await delay(seconds * 1000);
    const last = await snapshot(pc);
    return evaluate(first, last);
  } catch (error) {
    if (error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'NotFoundError')) {
      return failed('Your camera or microphone could not be used. Please allow access in your browser and try again.');
    }
    return failed('Your device could not connect to the clinic server. A different network (for example mobile data) may help.');
  } finally {
    pc.close();
    if (!options.stream) stream.getTracks().forEach((t) => t.stop());
  }
}

async function fetchIceServers(joinToken?: string): Promise<RTCIceServer[]> {
  // TURN is for holders of a join link (and signed-in staff in a session): the public /check tests the direct path.
  if (!joinToken) return [];
  try {
    const response = await fetch('/api/v1/ice-servers', { headers: { 'X-Join-Token': joinToken } });
    if (!response.ok) return [];
    const list = (await response.json()) as Array<{ urls: string[]; username?: string; credential?: string }>;
    return list.map((s) => ({ urls: s.urls, username: s.username ?? undefined, credential: s.credential ?? undefined }));
  } catch {
    return [];
  }
}

function waitForConnection(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        resolve();
      } else if (pc.connectionState === 'failed') {
        clearTimeout(timer);
        reject(new Error('failed'));
      }
    });
  });
}

interface Snapshot {
  at: number;
  videoFrames: number;
  audioPackets: number;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  roundTripMs: number | null;
}

async function snapshot(pc: RTCPeerConnection): Promise<Snapshot> {
  const stats = await pc.getStats();
  const result: Snapshot = { at: performance.now(), videoFrames: 0, audioPackets: 0, packetsReceived: 0, packetsLost: 0, bytesReceived: 0, roundTripMs: null };
  stats.forEach((report: Record<string, unknown>) => {
    if (report.type === 'inbound-rtp') {
      const kind = report.kind as string;
      result.packetsReceived += Number(report.packetsReceived ?? 0);
      result.packetsLost += Math.max(0, Number(report.packetsLost ?? 0));
      result.bytesReceived += Number(report.bytesReceived ?? 0);
      if (kind === 'video') result.videoFrames += Number(report.framesDecoded ?? 0);
      if (kind === 'audio') result.audioPackets += Number(report.packetsReceived ?? 0);
    }
    if (report.type === 'candidate-pair' && report.nominated && typeof report.currentRoundTripTime === 'number') {
      result.roundTripMs = Math.round((report.currentRoundTripTime as number) * 1000);
    }
  });
  return result;
}

function evaluate(first: Snapshot, last: Snapshot): ConnectionTestResult {
  const videoReturned = last.videoFrames - first.videoFrames > 0;
  const audioReturned = last.audioPackets - first.audioPackets > 0;
  const received = last.packetsReceived - first.packetsReceived;
  const lost = last.packetsLost - first.packetsLost;
  const lossPercent = received + lost > 0 ? Math.round((1000 * lost) / (received + lost)) / 10 : null;
  const seconds = (last.at - first.at) / 1000;
  const bitrateKbps = seconds > 0 ? Math.round(((last.bytesReceived - first.bytesReceived) * 8) / seconds / 1000) : null;
  const rtt = last.roundTripMs;
  let verdict: ConnectionTestResult['verdict'];
  if (!videoReturned && !audioReturned) verdict = 'failed';
  else if (!videoReturned || !audioReturned || (lossPercent ?? 0) > 5 || (rtt ?? 0) > 400) verdict = 'poor';
  else if ((lossPercent ?? 0) > 1 || (rtt ?? 0) > 200) verdict = 'fair';
  else verdict = 'good';
  const summary = {
    good: 'Your connection is good. The clinic will see and hear you clearly.',
    fair: 'Your connection works. The picture may sometimes be less sharp.',
    poor: 'Your connection is weak. The call may stutter; moving closer to your Wi-Fi router can help.',
    failed: 'No video or sound came back from the clinic server.',
  }[verdict];
  return { videoReturned, audioReturned, roundTripMs: rtt, lossPercent, bitrateKbps, verdict, summary };
}

function failed(summary: string): ConnectionTestResult {
  return { videoReturned: false, audioReturned: false, roundTripMs: null, lossPercent: null, bitrateKbps: null, verdict: 'failed', summary };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
