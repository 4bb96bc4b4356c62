/** Arrival is hard to miss: a short two-tone knock (WebAudio, no sound file) and a browser notification. */

let audio: AudioContext | null = null;

export function playKnock(): void {
  try {
    audio ??= new AudioContext();
    void audio.resume().catch(() => undefined);
    const ctx = audio;
    const start = ctx.currentTime + 0.02;
    [0, 0.22].forEach((offset, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = i === 0 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.2);
    });
  } catch {
    // No audio output: the list entry and the notification still tell.
  }
}

export function notifyArrival(name: string): void {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const notification = new Notification('Someone is waiting', { body: `${name} is in the waiting room.`, tag: 'teletherapy-knock' });
    notification.onclick = () => {
      window.focus();
      notification.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker.
  }
}

export function canAskForNotifications(): boolean {
  return 'Notification' in window && Notification.permission === 'default';
}
