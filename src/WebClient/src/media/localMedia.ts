/** The camera and microphone: one stream, mute and camera-off, and switching devices without renegotiation. */

export type DeviceKind = 'audioinput' | 'videoinput';

export class LocalMedia {
  private readonly listeners: Array<(kind: 'audio' | 'video', track: MediaStreamTrack) => void> = [];
  private readonly stateListeners: Array<() => void> = [];
  private muted = false;
  private cameraOff = false;

  private constructor(readonly stream: MediaStream) {}

  /** Asks for camera and microphone; falls back to the microphone alone when there is no camera. */
  static async open(): Promise<LocalMedia> {
    try {
      return new LocalMedia(await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } }));
    } catch (error) {
      if (error instanceof DOMException && error.name === 'NotFoundError') {
        return new LocalMedia(await navigator.mediaDevices.getUserMedia({ audio: true }));
      }
      throw error;
    }
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.stream.getAudioTracks()[0] ?? null;
  }

  get videoTrack(): MediaStreamTrack | null {
    return this.stream.getVideoTracks()[0] ?? null;
  }

  get isMuted(): boolean {
    return this.muted;
  }

  get isCameraOff(): boolean {
    return this.cameraOff;
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    if (this.audioTrack) this.audioTrack.enabled = !muted;
    for (const listener of this.stateListeners) listener();
  }

  setCameraOff(off: boolean): void {
    this.cameraOff = off;
    if (this.videoTrack) this.videoTrack.enabled = !off;
    for (const listener of this.stateListeners) listener();
  }

  /** Called after Mute or Camera off changed (the session tells the others, who mark this tile). */
  onStateChanged(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  /** Called with the new track after a device switch (the call replaces its sender's track). */
  onTrackChanged(listener: (kind: 'audio' | 'video', track: MediaStreamTrack) => void): void {
    this.listeners.push(listener);
  }

  currentDeviceId(kind: DeviceKind): string | null {
    const track = kind === 'audioinput' ? this.audioTrack : this.videoTrack;
    return track?.getSettings().deviceId ?? null;
  }

  async switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    const audio = kind === 'audioinput';
    const fresh = await navigator.mediaDevices.getUserMedia(audio ? { audio: { deviceId: { exact: deviceId } } } : { video: { deviceId: { exact: deviceId }, width: { ideal: 640 }, height: { ideal: 480 } } });
    const track = audio ? fresh.getAudioTracks()[0] : fresh.getVideoTracks()[0];
    if (!track) return;
    const old = audio ? this.audioTrack : this.videoTrack;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    track.enabled = audio ? !this.muted : !this.cameraOff;
    this.stream.addTrack(track);
    for (const listener of this.listeners) listener(audio ? 'audio' : 'video', track);
  }

  stop(): void {
    this.stream.getTracks().forEach((t) => t.stop());
  }
}

export async function listDevices(kind: DeviceKind): Promise<MediaDeviceInfo[]> {
  try {
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind && d.deviceId !== '');
  } catch {
    return [];
  }
}

/** Explains in plain words why the camera or microphone could not be opened. */
export function mediaErrorText(error: unknown): string {
  if (error instanceof DOMException) {
    if (error.name === 'NotAllowedError') return 'Your browser did not allow the camera and microphone. Allow them in the address bar, then reload this page.';
    if (error.name === 'NotFoundError') return 'No camera or microphone was found. Connect one, then reload this page.';
    if (error.name === 'NotReadableError') return 'Your camera or microphone is being used by another program. Close it, then reload this page.';
  }
  return 'Your camera and microphone could not be started.';
}
