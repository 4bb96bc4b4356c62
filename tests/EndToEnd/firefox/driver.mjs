// Drives one headless Firefox (Debian's firefox-esr) over WebDriver BiDi for a browser test (FirefoxPatient.cs).
//
//   node driver.mjs PROFILE_DIR [FIREFOX_PATH]
//
// The test writes one JSON command a line to stdin and reads one JSON line per command from stdout:
//   {"id":1,"cmd":"goto","url":"http://127.0.0.1:5000/join/…"}            → {"id":1,"ok":true}
//   {"id":2,"cmd":"click","name":"Join the session","role":"button"}       → {"id":2,"ok":true}
//     ("navigates":true: the click opens another page, and the answer waits until it has loaded)
//   {"id":3,"cmd":"evaluate","script":"async () => …"}                     → {"id":3,"ok":true,"value":…}
//   {"id":4,"cmd":"screenshot","path":"/tmp/x.png"}                        → {"id":4,"ok":true}
//   {"id":5,"cmd":"close"}                                                 → {"id":5,"ok":true}, then the driver exits
// A failed command answers {"id":…,"ok":false,"error":"…"}. Unasked lines report what the page says:
//   {"event":"console","type":"error","text":"…"} and {"event":"pageerror","text":"…"}; {"event":"ready","version":"…"} once.
// When stdin closes (the test ended or died) the browser is closed too. The profile folder belongs to the caller,
// which removes it after this process has exited.
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const [profile, executablePath = '/usr/bin/firefox-esr'] = process.argv.slice(2);
if (!profile) {
  process.stderr.write('usage: node driver.mjs PROFILE_DIR [FIREFOX_PATH]\n');
  process.exit(2);
}

// A fake camera and microphone, granted without a prompt, in the tests' loopback-only network namespace (test.sh):
// without the two permissions Firefox gathers no ICE candidates where there is no default route, and without the
// loopback switch it skips 127.0.0.1.
const prefs = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // Remote video and audio play without a click, as Chromium's --autoplay-policy=no-user-gesture-required (Browser.cs).
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
};

let closing = false;
const emit = (message) => process.stdout.write(JSON.stringify(message) + '\n');

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath,
  headless: true,
  userDataDir: profile,
  extraPrefsFirefox: prefs,
  defaultViewport: { width: 1024, height: 768 },
  protocolTimeout: 60_000,
});
const page = (await browser.pages())[0] ?? (await browser.newPage());
page.setDefaultTimeout(20_000);
page.on('console', (message) => emit({ event: 'console', type: message.type(), text: message.text() }));
page.on('pageerror', (error) => emit({ event: 'pageerror', text: String(error && error.message ? error.message : error) }));
// Firefox gone without being asked (a crash): say so and end, so that the test fails at once instead of timing out.
browser.on('disconnected', () => {
  if (closing) return;
  process.stderr.write('Firefox exited unexpectedly\n');
  process.exit(3);
});
emit({ event: 'ready', version: await browser.version() });

// The control with this accessible name: its role's elements whose aria-label, or else trimmed text, equals the name.
const ROLE_SELECTORS = {
  button: 'button, [role="button"], input[type="button"], input[type="submit"]',
  link: 'a[href], [role="link"]',
};

async function click({ name, role = 'button', timeout = 20_000, navigates = false }) {
  const selector = ROLE_SELECTORS[role];
  if (!selector) throw new Error(`unknown role ${role}`);
  const handle = await page
    .waitForFunction(
      (css, wanted) => {
        for (const element of document.querySelectorAll(css)) {
          const label = element.getAttribute('aria-label') ?? element.textContent ?? element.value ?? '';
          const box = element.getBoundingClientRect();
          if (label.trim() === wanted && !element.disabled && !element.closest('[hidden]') && box.width > 0 && box.height > 0) return element;
        }
        return null;
      },
      { timeout, polling: 100 },
      selector,
      name,
    )
    .catch((error) => {
      throw new Error(`no visible, enabled ${role} named "${name}" within ${timeout} ms (${error.message})`);
    });
  const element = handle.asElement();
  if (!element) throw new Error(`no ${role} named "${name}"`);
  // A real pointer click at the element's centre (WebDriver BiDi input.performActions), as a person would. A click
  // that opens another page returns once that page has loaded, so the next command runs in it.
  if (navigates) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout }), element.click()]);
  } else {
    await element.click();
    await element.dispose();
  }
}

async function run(command) {
  switch (command.cmd) {
    case 'goto':
      await page.goto(command.url, { waitUntil: 'load' });
      return undefined;
    case 'click':
      await click(command);
      return undefined;
    case 'evaluate':
      // A function's source, called in the page; its (awaited) result comes back as JSON.
      return await page.evaluate(`(${command.script})()`);
    case 'screenshot':
      await page.screenshot({ path: command.path, fullPage: true });
      return undefined;
    case 'close':
      return undefined;
    default:
      throw new Error(`unknown command ${command.cmd}`);
  }
}

async function close(code) {
  if (closing) return;
  closing = true;
  await browser.close().catch(() => undefined);
  process.exit(code);
}

// Commands run one at a time, in the order they arrive.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(line);
    } catch {
      emit({ id: null, ok: false, error: `not JSON: ${line}` });
      return;
    }
    try {
      const value = await run(command);
      emit({ id: command.id, ok: true, value: value ?? null });
    } catch (error) {
      emit({ id: command.id, ok: false, error: String(error && error.stack ? error.stack : error) });
    }
    if (command.cmd === 'close') await close(0);
  });
});
lines.on('close', () => void queue.then(() => close(0)));
process.on('SIGTERM', () => void close(143));
