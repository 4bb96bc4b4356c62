using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// A session of several people, each in a Chromium of their own: listed therapists who sign in and open the session
/// room, and a patient's contacts (the patient and caregivers) who join with the links of their own emails and are let
/// in with Admit all. Made through the REST API in a clinic of its own (Europe/Berlin), starting in five minutes.
/// Browsers are kept cheap for two cores: a small window, and a camera that plays a 320×240 picture at 10 frames a
/// second (made with ffmpeg at test time), which the web client sends as one encoding (simulcast.ts: too small for
/// layers); each browser then encodes one small picture and decodes the others'.
/// </summary>
public sealed class GroupSession : IAsyncDisposable
{
    private const string Password = "group-session-password";
    private readonly List<Browser> _browsers = [];

    private GroupSession(LiveServer server) => Server = server;

    public LiveServer Server { get; }

    public Guid AppointmentId { get; private set; }

    public List<Person> Therapists { get; } = [];

    public List<Person> Contacts { get; } = [];

    public IEnumerable<Person> Everyone => Therapists.Concat(Contacts);

    /// <summary>Errors the pages reported (console errors and uncaught exceptions).</summary>
    public List<string> Errors { get; } = [];

    /// <param name="therapists">Therapists listed on the appointment (at least one).</param>
    /// <param name="contacts">The patient's contacts: the first is the patient (primary contact), the others caregivers.</param>
    public static async Task<GroupSession> CreateAsync(int therapists, int contacts)
    {
        var camera = await SmallCameraAsync();
        var server = new LiveServer(new Dictionary<string, string?> { ["Teletherapy:ApiKeys:0"] = Scenario.ApiKey });
        var group = new GroupSession(server);
        using var api = Scenario.Integrator(server);
        (await api.PutAsJsonAsync("/api/v1/clinic", new { name = "Birchwood Family Practice", timeZone = "Europe/Berlin", remindersEnabled = false })).EnsureSuccessStatusCode();
        for (var i = 0; i < therapists; i++)
        {
            var name = $"Dr. Therapist {(char)('A' + i)}";
            var email = $"therapist.{i}@birchwood.example";
            var id = (await Scenario.PostAsync(api, "/api/v1/staff", new { name, email, password = Password })).GetProperty("id").GetGuid();
            group.Therapists.Add(new Person(name, email, $"staff-{id:N}", null));
        }

        var people = Enumerable.Range(0, contacts).Select(i => (Name: i == 0 ? "Pat Quinn" : $"Carer {(char)('A' + i - 1)} Quinn", Email: $"contact.{i}@quinn.example")).ToList();
        var patient = await Scenario.PostAsync(api, "/api/v1/patients", new
        {
            name = "Pat Quinn",
            contacts = people.Select((p, i) => new { name = p.Name, email = p.Email, phone = (string?)null, isPrimary = i == 0, emailReminders = i > 0, smsReminders = false }).ToArray(),
        });
        var contactIds = patient.GetProperty("contacts").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ToList();
        var created = await Scenario.PostAsync(api, "/api/v1/appointments", new
        {
            patientId = patient.GetProperty("id").GetGuid(),
            therapistIds = group.Therapists.Select(t => Guid.Parse(t.ParticipantId["staff-".Length..])).ToArray(),
            start = DateTimeOffset.UtcNow.AddMinutes(5),
            durationMinutes = 50,
            teletherapy = true,
        });
        group.AppointmentId = created.GetProperty("id").GetGuid();
        for (var i = 0; i < contacts; i++)
        {
            group.Contacts.Add(new Person(people[i].Name, people[i].Email, $"contact-{contactIds[i]:N}", await JoinPathAsync(server.DataPath, people[i].Email)));
        }

        foreach (var person in group.Everyone)
        {
            var browser = await Browser.LaunchAsync(extraArgs: ["--use-file-for-fake-video-capture=" + camera], viewport: new ViewportSize { Width = 960, Height = 640 });
            group._browsers.Add(browser);
            person.Page = await browser.NewPageAsync(group.Errors);
        }

        return group;
    }

    /// <summary>The therapists open the room, the contacts knock, and the first therapist lets them all in.</summary>
    public async Task EnterAllAsync(Action<string>? log = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var therapist in Therapists)
        {
            await Scenario.SignInAsync(therapist.Page, Server, therapist.Email, Password);
            await therapist.Page.GotoAsync($"{Server.BaseUrl}/session/{AppointmentId}");
            await Expect(therapist.Page.Locator(".waiting-panel")).ToBeVisibleAsync();
            log?.Invoke($"{therapist.Name} in the room at {clock.Elapsed.TotalSeconds:0.0} s");
        }

        foreach (var contact in Contacts)
        {
            await Scenario.JoinWithLinkAsync(contact.Page, Server, contact.JoinPath!);
            await Expect(contact.Page.Locator("#join-status")).ToHaveTextAsync("Your therapist knows you are here and will let you in shortly.");
            log?.Invoke($"{contact.Name} waiting at {clock.Elapsed.TotalSeconds:0.0} s");
        }

        var host = Therapists[0].Page;
        await Expect(host.Locator(".waiting-entry")).ToHaveCountAsync(Contacts.Count);
        if (Contacts.Count > 1)
        {
            await host.GetByRole(AriaRole.Button, new() { Name = "Admit all", Exact = true }).ClickAsync();
        }
        else
        {
            await host.GetByRole(AriaRole.Button, new() { Name = "Admit", Exact = true }).ClickAsync();
        }

        foreach (var contact in Contacts)
        {
            await Expect(contact.Page.Locator("#join-status")).ToHaveTextAsync("You are in the session.");
        }
    }

    /// <summary>
    /// Starts a journal on every page of each remote tile's visibility changes, with its tracks' states at the time
    /// (kind, muted, ended), so a failure can say why a tile went away.
    /// </summary>
    public async Task StartTileJournalsAsync()
    {
        foreach (var person in Everyone)
        {
            await person.Page.EvaluateAsync(
                """
                () => {
                  const start = performance.now();
                  const journal = (window.__tileJournal = []);
                  const state = (tile) => {
                    const stream = tile.querySelector('video').srcObject;
                    const tracks = stream ? stream.getTracks().map((t) => `${t.kind}${t.muted ? ' muted' : ''}${t.readyState === 'ended' ? ' ended' : ''}`).join('+') : 'no stream';
                    return `${((performance.now() - start) / 1000).toFixed(1)}s ${tile.dataset.participant} ${tile.dataset.kind} ${tile.hidden ? 'hidden' : 'shown'} [${tracks}]`;
                  };
                  new MutationObserver((changes) => {
                    for (const change of changes) {
                      if (change.target.classList && change.target.classList.contains('remote')) journal.push(state(change.target));
                    }
                  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['hidden'] });
                  const t = window.__teletherapy || {};
                  for (const [name, pc] of [['publish', t.publish], ['subscribe', t.subscribe]]) {
                    if (!pc) continue;
                    journal.push(`${((performance.now() - start) / 1000).toFixed(1)}s ${name} ${pc.connectionState}`);
                    pc.addEventListener('connectionstatechange', () => journal.push(`${((performance.now() - start) / 1000).toFixed(1)}s ${name} ${pc.connectionState}`));
                  }
                }
                """);
        }
    }

    /// <summary>What the page's tile journal holds, and each remote tile's state now.</summary>
    public static async Task<string> TileJournalAsync(IPage page) =>
        await page.EvaluateAsync<string>(
            """
            () => (window.__tileJournal || []).join('; ') + ' | now: ' + [...document.querySelectorAll('.tile.remote')].map((tile) => {
              const stream = tile.querySelector('video').srcObject;
              const tracks = stream ? stream.getTracks().map((t) => `${t.kind}${t.muted ? ' muted' : ''}${t.readyState === 'ended' ? ' ended' : ''}`).join('+') : 'no stream';
              return `${tile.dataset.participant} ${tile.dataset.kind} ${tile.hidden ? 'hidden' : 'shown'} [${tracks}]`;
            }).join('; ')
            """);

    /// <summary>Video frames decoded so far on the page, per remote participant (by the camera tile's participant id).</summary>
    public static async Task<Dictionary<string, long>> FramesByParticipantAsync(IPage page)
    {
        var frames = await page.EvaluateAsync<Dictionary<string, double>>(
            """
            async () => {
              const pc = window.__teletherapy && window.__teletherapy.subscribe;
              if (!pc) return {};
              const byTrack = {};
              (await pc.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') byTrack[r.trackIdentifier] = r.framesDecoded || 0;
              });
              const out = {};
              document.querySelectorAll('.tile.remote[data-kind="camera"]').forEach((tile) => {
                const stream = tile.querySelector('video').srcObject;
                const track = stream && stream.getVideoTracks()[0];
                if (track) out[tile.dataset.participant] = byTrack[track.id] || 0;
              });
              return out;
            }
            """);
        return frames.ToDictionary(kv => kv.Key, kv => (long)kv.Value);
    }

    /// <summary>
    /// Waits until every page decodes the video of every other participant, then checks that each of those counts
    /// still grows two seconds later. Returns the time it took until everyone decoded everyone.
    /// </summary>
    public async Task<TimeSpan> WaitUntilEveryoneDecodesEveryoneAsync(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = new Dictionary<Person, Dictionary<string, long>>();
        foreach (var person in Everyone)
        {
            var others = Everyone.Where(p => p != person).Select(p => p.ParticipantId).ToList();
            Dictionary<string, long> frames;
            while (true)
            {
                frames = await FramesByParticipantAsync(person.Page);
                if (others.All(id => frames.GetValueOrDefault(id) > 0))
                {
                    break;
                }

                Assert.True(clock.Elapsed < timeout, $"{person.Name} decodes {Describe(frames)}, expected all of {string.Join(", ", others)}.");
                await Task.Delay(250);
            }

            first[person] = frames;
        }

        // And each of those counts grows: no picture stopped (on a busy machine a frozen moment may pass: 20 s allowed).
        var everyone = clock.Elapsed;
        foreach (var person in Everyone)
        {
            var growing = System.Diagnostics.Stopwatch.StartNew();
            Dictionary<string, long> later;
            while ((later = await FramesByParticipantAsync(person.Page)) is var now && first[person].Any(kv => now.GetValueOrDefault(kv.Key) <= kv.Value))
            {
                // A count that went down belongs to a new connection (the page replaced one it lost): it counts from there.
                foreach (var (id, frames) in now.Where(kv => first[person].TryGetValue(kv.Key, out var before) && kv.Value < before).ToList())
                {
                    first[person][id] = frames;
                    growing.Restart();
                }

                var stopped = first[person].Where(kv => later.GetValueOrDefault(kv.Key) <= kv.Value).Select(kv => $"{kv.Key} at {kv.Value}");
                Assert.True(growing.Elapsed < TimeSpan.FromSeconds(20), $"{person.Name}: the video stopped of {string.Join(", ", stopped)} frames.");
                await Task.Delay(250);
            }
        }

        return everyone;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var browser in _browsers)
        {
            await browser.DisposeAsync();
        }

        Server.Dispose();
    }

    /// <summary>A 320×240, 10 frames/s test picture as a Y4M file for Chromium's fake camera, made once per test run.</summary>
    private static async Task<string> SmallCameraAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "teletherapy-e2e-camera-320x240.y4m");
        if (File.Exists(path))
        {
            return path;
        }

        var partial = path + "." + Guid.NewGuid().ToString("N");
        using var ffmpeg = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "4", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", partial]) { RedirectStandardError = true })!;
        var errors = await ffmpeg.StandardError.ReadToEndAsync();
        await ffmpeg.WaitForExitAsync();
        Assert.True(ffmpeg.ExitCode == 0, $"ffmpeg (./test.sh installs it) could not make the test camera: {errors}");
        File.Move(partial, path, overwrite: true);
        return path;
    }

    private static string Describe(Dictionary<string, long> frames) => frames.Count == 0 ? "nothing" : string.Join(", ", frames.Select(kv => $"{kv.Key}: {kv.Value}"));

    /// <summary>The join path in the scheduled-appointment email to this address, once the outbox has written it.</summary>
    private static async Task<string> JoinPathAsync(string dataPath, string email)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var folder = Path.Combine(dataPath, "outbox");
        while (true)
        {
            foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.eml") : [])
            {
                var message = await MimeKit.MimeMessage.LoadAsync(file);
                var link = Regex.Match(message.TextBody ?? string.Empty, @"https?://\S+?(/join/[A-Za-z0-9_-]+)");
                if (message.To.Mailboxes.Single().Address == email && link.Success)
                {
                    return link.Groups[1].Value;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No join email to {email} in the outbox.");
            await Task.Delay(200);
        }
    }

    /// <summary>One participant: their name, sign-in email (therapists), participant id, join path (contacts) and page.</summary>
    public sealed class Person(string name, string email, string participantId, string? joinPath)
    {
        public string Name { get; } = name;

        public string Email { get; } = email;

        public string ParticipantId { get; } = participantId;

        public string? JoinPath { get; } = joinPath;

        public IPage Page { get; set; } = null!;
    }
}
