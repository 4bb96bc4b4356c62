import { el } from '../dom';
import type { Call, Quality } from '../media/call';
import { listDevices, type DeviceKind, type LocalMedia } from '../media/localMedia';

/** Our own picture, mirrored and muted. */
export function selfView(local: LocalMedia | null, caption = 'You'): HTMLElement {
  const video = el('video', { autoplay: true, playsinline: true, muted: true, class: 'mirror' });
  video.muted = true;
  if (local) {
    video.srcObject = local.stream;
    void video.play().catch(() => undefined);
  }
  return el('figure', { class: 'tile self' }, video, el('figcaption', {}, caption));
}

/** The controls of our own camera and microphone: the Mute and Camera off toggles, and the device choices. */
export interface MediaControlParts {
  toggles: HTMLButtonElement[];
  devices: HTMLElement;
}

/**
 * Mute and Camera off (toggle buttons keep their names and report their state with aria-pressed) and the camera and
 * microphone choices, as parts a page places: together in the device check, or the toggles in the call's bar and
 * the choices behind its Devices button. Null without local media.
 */
export function mediaControlParts(local: LocalMedia | null, onError: (message: string) => void): MediaControlParts | null {
  if (!local) return null;
  const mute = el('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false' }, 'Mute');
  const camera = el('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false' }, 'Camera off');
  mute.disabled = local.audioTrack === null;
  camera.disabled = local.videoTrack === null;
  mute.addEventListener('click', () => {
    local.setMuted(!local.isMuted);
    mute.setAttribute('aria-pressed', String(local.isMuted));
  });
  camera.addEventListener('click', () => {
    local.setCameraOff(!local.isCameraOff);
    camera.setAttribute('aria-pressed', String(local.isCameraOff));
  });
  const devices = el('div', { class: 'device-choices' }, deviceSelect(local, 'videoinput', 'Camera', onError), deviceSelect(local, 'audioinput', 'Microphone', onError));
  return { toggles: [mute, camera], devices };
}

/** Mute, camera off and the device choices in one row (the join page's device check). */
export function mediaControls(local: LocalMedia | null, onError: (message: string) => void): HTMLElement {
  const parts = mediaControlParts(local, onError);
  if (!parts) return noMedia();
  return el('div', { class: 'media-controls' }, ...parts.toggles, parts.devices);
}

export function noMedia(): HTMLElement {
  return el('p', { class: 'muted' }, 'Your camera and microphone are not in use.');
}

/** The device choices behind a Devices button in the call's bar (a disclosure: HTML's details element). */
export function devicesMenu(devices: HTMLElement): HTMLElement {
  return el('details', { class: 'devices-menu' }, el('summary', {}, 'Devices'), devices);
}

function deviceSelect(local: LocalMedia, kind: DeviceKind, label: string, onError: (message: string) => void): HTMLElement {
  const id = `device-${kind}`;
  const select = el('select', { id });
  const wrapper = el('div', { class: 'device' }, el('label', { for: id }, label), select);
  const fill = async (): Promise<void> => {
    const devices = await listDevices(kind);
    const current = local.currentDeviceId(kind);
    select.replaceChildren(
      ...devices.map((d, i) => {
        const option = el('option', { value: d.deviceId }, d.label || `${label} ${i + 1}`);
        option.selected = d.deviceId === current;
        return option;
      }),
    );
    select.disabled = devices.length < 2;
  };
  void fill();
  navigator.mediaDevices?.addEventListener('devicechange', () => void fill());
  select.addEventListener('change', async () => {
    try {
      await local.switchDevice(kind, select.value);
    } catch {
      onError(`That ${label.toLowerCase()} could not be started.`);
      void fill();
    }
  });
  return wrapper;
}

const qualityWords: Record<Quality, string> = {
  good: 'Connection: good',
  fair: 'Connection: fair',
  poor: 'Connection: weak',
  connecting: 'Connecting…',
};

/** The connection indicator, from getStats every few seconds. Returns the element; stops when it leaves the page. */
export function qualityIndicator(call: Call): HTMLElement {
  const text = el('span', {}, qualityWords.connecting);
  const indicator = el('p', { class: 'quality', 'data-quality': 'connecting' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), text);
  const timer = window.setInterval(async () => {
    if (!indicator.isConnected) {
      window.clearInterval(timer);
      return;
    }
    try {
      const quality = await call.quality();
      indicator.dataset.quality = quality;
      text.textContent = qualityWords[quality];
    } catch {
      window.clearInterval(timer);
    }
  }, 2000);
  return indicator;
}
