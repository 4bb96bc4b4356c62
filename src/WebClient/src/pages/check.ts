import { el } from '../dom';
import { pageShell, publicHeader } from '../ui/layout';
import { runConnectionTest, type ConnectionTestResult } from '../media/connectionTest';

/** The public connection test page: one button, then the result in plain words. */
export function renderCheck(root: HTMLElement): void {
  document.title = 'Test my connection · Teletherapy';
  const button = el('button', { type: 'button', id: 'test-connection' }, 'Test my connection');
  const status = el('p', { role: 'status', 'aria-live': 'polite', id: 'check-status' });
  const video = el('video', { autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your video as it comes back from the clinic server' });
  video.muted = true;
  const results = el('dl', { id: 'check-results', class: 'results', hidden: true });
  button.addEventListener('click', async () => {
    button.disabled = true;
    results.hidden = true;
    status.textContent = 'Starting the test…';
    const result = await runConnectionTest({ remoteVideo: video, onProgress: (m) => (status.textContent = m) });
    showResult(result, status, results);
    button.disabled = false;
    button.textContent = 'Test again';
    button.setAttribute('aria-label', 'Test my connection');
  });
  pageShell(root, publicHeader()).replaceChildren(
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'check-title' },
      el('h1', { id: 'check-title' }, 'Check your connection'),
      el('p', {}, 'This sends your camera and microphone to the clinic server and back, so you know your video session will work. It takes about ten seconds. Nothing is recorded.'),
      el('p', {}, button),
      status,
      video,
      results,
    ),
  );
}

function showResult(result: ConnectionTestResult, status: HTMLElement, results: HTMLElement): void {
  status.textContent = result.summary;
  status.dataset.verdict = result.verdict;
  const rows: Array<[string, string, string]> = [
    ['video', 'Video', result.videoReturned ? 'came back' : 'did not come back'],
    ['audio', 'Sound', result.audioReturned ? 'came back' : 'did not come back'],
    ['rtt', 'Round-trip time', result.roundTripMs === null ? 'unknown' : `${result.roundTripMs} ms`],
    ['loss', 'Lost data', result.lossPercent === null ? 'unknown' : `${result.lossPercent}%`],
    ['bitrate', 'Speed', result.bitrateKbps === null ? 'unknown' : `${result.bitrateKbps} kbit/s`],
  ];
  results.replaceChildren(
    ...rows.flatMap(([key, label, value]) => [el('dt', {}, label), el('dd', { 'data-result': key }, value)]),
  );
  results.hidden = false;
}
