/**
 * Who is speaking, from what this browser receives: the inbound audio's energy over the last two seconds, read with
 * getStats (RTCInboundRtpStreamStats.totalAudioEnergy and totalSamplesDuration, W3C webrtc-stats §7.4: their
 * increments over an interval give its mean power, so a short word between polls still counts). The loudest remote
 * participant above a floor is the speaker; another takes over only when louder on two polls in a row, and a silent
 * speaker keeps the mark for a few seconds, so a pause between words or two people talking at once does not make the
 * layout jump. Muted participants send silence, so they never win.
 */

const PollMs = 500;
/** Polls the energy is averaged over (2 s). */
const Window = 4;
/** Mean amplitude (0..1) below which audio is background: about −46 dBFS. */
const Floor = 0.005;
/** Polls a new speaker must lead before taking over. */
const Lead = 2;
/** Polls a silent speaker keeps the mark. */
const Hold = 6;

interface Sample {
  energy: number;
  duration: number;
}

export class ActiveSpeaker {
  private timer = 0;
  private readonly history = new Map<string, Sample[]>();
  private current: string | null = null;
  private challenger: string | null = null;
  private challengerPolls = 0;
  private silentPolls = 0;

  constructor(
    /** The receive connection (the call replaces it when it fails). */
    private readonly connection: () => RTCPeerConnection,
    /** The participant a received audio track belongs to, or null. */
    private readonly participantOf: (trackId: string) => string | null,
    private readonly onChange: (participantId: string | null) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = window.setInterval(() => void this.poll().catch(() => undefined), PollMs);
  }

  stop(): void {
    window.clearInterval(this.timer);
    this.timer = 0;
  }

  private async poll(): Promise<void> {
    const levels = new Map<string, number>();
    const stats = await this.connection().getStats();
    stats.forEach((report: Record<string, unknown>) => {
      if (report.type !== 'inbound-rtp' || report.kind !== 'audio' || typeof report.trackIdentifier !== 'string') return;
      const participant = this.participantOf(report.trackIdentifier);
      if (!participant) return;
      const samples = this.history.get(report.trackIdentifier) ?? [];
      samples.push({ energy: Number(report.totalAudioEnergy ?? 0), duration: Number(report.totalSamplesDuration ?? 0) });
      if (samples.length > Window + 1) samples.shift();
      this.history.set(report.trackIdentifier, samples);
      const first = samples[0];
      const last = samples[samples.length - 1];
      const seconds = last.duration - first.duration;
      const level = seconds > 0 ? Math.sqrt(Math.max(0, last.energy - first.energy) / seconds) : 0;
      levels.set(participant, Math.max(levels.get(participant) ?? 0, level));
    });
    this.decide(levels);
  }

  private decide(levels: Map<string, number>): void {
    let loudest: string | null = null;
    let loudestLevel = Floor;
    for (const [participant, level] of levels) {
      if (level > loudestLevel) {
        loudest = participant;
        loudestLevel = level;
      }
    }
    if (loudest === null) {
      this.challenger = null;
      if (this.current !== null && ++this.silentPolls >= Hold) this.set(null);
      return;
    }
    this.silentPolls = 0;
    if (loudest === this.current) {
      this.challenger = null;
      return;
    }
    this.challengerPolls = loudest === this.challenger ? this.challengerPolls + 1 : 1;
    this.challenger = loudest;
    if (this.current === null || !levels.has(this.current) || this.challengerPolls >= Lead) this.set(loudest);
  }

  private set(participant: string | null): void {
    this.current = participant;
    this.challenger = null;
    this.challengerPolls = 0;
    this.silentPolls = 0;
    this.onChange(participant);
  }
}
