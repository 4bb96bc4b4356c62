using System.Diagnostics;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Teletherapy.EndToEnd;

/// <summary>
/// Group sessions (issue #18): two listed therapists, the patient and two caregivers, each in their own Chromium,
/// all let in at once. Everyone decodes everyone's video (framesDecoded per remote track), every tile carries the
/// right name, a muted participant is marked on the others' screens, and the one person still speaking becomes the
/// active speaker, shown larger than the others. An opt-in run does the same with eight people.
/// </summary>
public sealed class GroupSessionTests(ITestOutputHelper output)
{
    [Fact(Timeout = 600_000)]
    public Task Five_people_see_each_other_with_names_marks_and_the_active_speaker() => RunAsync(therapists: 2, contacts: 3);

    /// <summary>Eight people (TELETHERAPY_GROUP_OF_EIGHT=1): more than two cores carry with the rest of the suite.</summary>
    [SkippableFact(Timeout = 600_000)]
    public Task Eight_people_see_each_other()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("TELETHERAPY_GROUP_OF_EIGHT") == "1", "Opt-in: set TELETHERAPY_GROUP_OF_EIGHT=1.");
        return RunAsync(therapists: 2, contacts: 6);
    }

    private async Task RunAsync(int therapists, int contacts)
    {
        var clock = Stopwatch.StartNew();
        await using var group = await GroupSession.CreateAsync(therapists, contacts);
        output.WriteLine($"clinic, appointment and {group.Everyone.Count()} browsers ready after {clock.Elapsed.TotalSeconds:0.0} s");
        await group.EnterAllAsync(output.WriteLine);
        await group.StartTileJournalsAsync();
        try
        {
            await CheckAsync(group, clock);
        }
        catch
        {
            // What each page saw of the others' tiles and of its own connections, to tell a lost connection from a slow one.
            foreach (var person in group.Everyone)
            {
                output.WriteLine($"{person.Name}: {await GroupSession.TileJournalAsync(person.Page)}");
            }

            throw;
        }
    }

    private async Task CheckAsync(GroupSession group, Stopwatch clock)
    {
        output.WriteLine($"{group.Everyone.Count()} people in the session after {clock.Elapsed.TotalSeconds:0.0} s");
        var decoding = await group.WaitUntilEveryoneDecodesEveryoneAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"everyone decodes everyone {decoding.TotalSeconds:0.0} s after admission");

        output.WriteLine($"decoding checked after {clock.Elapsed.TotalSeconds:0.0} s");

        // Every page names the others' tiles.
        foreach (var person in group.Everyone)
        {
            var others = group.Everyone.Where(p => p != person).Select(p => p.Name).Order().ToList();
            await QualityTests.WaitUntilAsync(
                async () => (await person.Page.Locator(".tile.remote[data-kind='camera']:not([hidden]) figcaption").AllInnerTextsAsync()).Order().SequenceEqual(others),
                TimeSpan.FromSeconds(30),
                $"{person.Name}'s tiles named {string.Join(", ", others)}");
            output.WriteLine($"{person.Name}'s tiles named after {clock.Elapsed.TotalSeconds:0.0} s");
        }

        await Browser.ScreenshotAsync(group.Therapists[0].Page, $"22-group-of-{group.Everyone.Count()}");

        // Everyone but one caregiver mutes: each mute is marked on the others' tiles, and the caregiver, the only one
        // still sending sound, becomes the active speaker on every other page, featured larger than the rest.
        var speaker = group.Contacts[^1];
        foreach (var person in group.Everyone.Where(p => p != speaker))
        {
            var mute = person.Page.GetByRole(AriaRole.Button, new() { Name = "Mute", Exact = true });
            await mute.ClickAsync();
            await Expect(mute).ToHaveAttributeAsync("aria-pressed", "true");
        }

        output.WriteLine($"muted after {clock.Elapsed.TotalSeconds:0.0} s");

        foreach (var person in group.Everyone)
        {
            foreach (var other in group.Everyone.Where(p => p != person))
            {
                var mark = person.Page.Locator($".tile.remote[data-participant='{other.ParticipantId}'][data-kind='camera'] .mark.microphone-off");
                if (other == speaker)
                {
                    await Expect(mark).ToBeHiddenAsync();
                }
                else
                {
                    await Expect(mark).ToBeVisibleAsync();
                }
            }
        }

        output.WriteLine($"mute marks seen after {clock.Elapsed.TotalSeconds:0.0} s");
        foreach (var person in group.Everyone.Where(p => p != speaker))
        {
            var tile = person.Page.Locator($".tile.remote[data-participant='{speaker.ParticipantId}'][data-kind='camera']");
            await WaitForSpeakerAsync(person, tile);
            await Expect(tile).ToHaveAttributeAsync("data-featured", "true");
            var featured = (await tile.BoundingBoxAsync())!;
            foreach (var box in await BoxesAsync(person.Page.Locator($".tile.remote[data-kind='camera']:not([hidden]):not([data-participant='{speaker.ParticipantId}'])")))
            {
                Assert.True(featured.Width > box.Width * 1.5, $"{person.Name}: the speaker's tile is {featured.Width:0} wide, another {box.Width:0}.");
            }
        }

        await Browser.ScreenshotAsync(group.Therapists[0].Page, $"23-group-of-{group.Everyone.Count()}-speaker");
        Assert.Empty(Scenario.Unexpected(group.Errors));
        output.WriteLine($"done after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Waits for the speaker's mark; on a timeout, says what the page received of each participant's audio.</summary>
    private static async Task WaitForSpeakerAsync(GroupSession.Person person, ILocator tile)
    {
        var deadline = Stopwatch.StartNew();
        while (await tile.GetAttributeAsync("data-speaking") != "true")
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                var audio = await person.Page.EvaluateAsync<string>(
                    """
                    async () => {
                      const energy = {};
                      (await window.__teletherapy.subscribe.getStats()).forEach((r) => {
                        if (r.type === 'inbound-rtp' && r.kind === 'audio') energy[r.trackIdentifier] = `${(r.totalAudioEnergy || 0).toFixed(3)}/${(r.totalSamplesDuration || 0).toFixed(1)}s`;
                      });
                      return [...document.querySelectorAll('.tile.remote')].map((t) => {
                        const tracks = t.querySelector('video').srcObject.getAudioTracks();
                        return `${t.dataset.participant} speaking=${t.dataset.speaking} audio=${tracks.map((a) => a.id + ' ' + (energy[a.id] || 'no stats')).join(',')}`;
                      }).join('; ');
                    }
                    """);
                Assert.Fail($"{person.Name}: no speaker mark after 30 s: {audio}");
            }

            await Task.Delay(250);
        }
    }

    private static async Task<List<LocatorBoundingBoxResult>> BoxesAsync(ILocator locator)
    {
        var boxes = new List<LocatorBoundingBoxResult>();
        foreach (var item in await locator.AllAsync())
        {
            boxes.Add((await item.BoundingBoxAsync())!);
        }

        return boxes;
    }
}
