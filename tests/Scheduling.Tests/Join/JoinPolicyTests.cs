using Microsoft.Extensions.Time.Testing;
using Teletherapy.Scheduling.Join;

namespace Teletherapy.Scheduling.Tests.Join;

/// <summary>The join rules at their boundaries. Start 10:00 UTC, 50 minutes, so the room opens 09:50 and closes 11:50 (end 10:50 + 60 min grace).</summary>
public sealed class JoinPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly Guid Therapist = Guid.NewGuid();
    private static readonly Guid OtherStaff = Guid.NewGuid();
    private static readonly Guid ContactId = Guid.NewGuid();

    private static AppointmentFacts Appointment(string status = AppointmentStatus.Scheduled, bool teletherapy = true) =>
        new(Guid.Parse("00000000-0000-0000-0000-000000000001"), Start, Start.AddMinutes(50), teletherapy, status, [Therapist]);

    // "Now" is read from a FakeTimeProvider set relative to the start, as the services read it.
    private static DateTimeOffset At(TimeSpan offsetFromStart) => new FakeTimeProvider(Start + offsetFromStart).GetUtcNow();

    private static JoinLinkFacts Link(AppointmentFacts appointment, DateTimeOffset? revokedAt = null) =>
        new(appointment.Id, ContactId, JoinPolicy.LinkExpiresAt(appointment.End), revokedAt);

    [Fact]
    public void Constants_are_the_documented_ones()
    {
        Assert.Equal(TimeSpan.FromMinutes(10), JoinPolicy.RoomOpensBeforeStart);
        Assert.Equal(TimeSpan.FromMinutes(60), JoinPolicy.GracePeriod);
        Assert.Equal(TimeSpan.FromHours(24), JoinPolicy.ReminderLeadTime);
    }

    [Fact]
    public void R2_therapist_at_exactly_10_minutes_before_start_may_join()
    {
        var decision = JoinPolicy.CanTherapistJoin(Appointment(), Therapist, At(TimeSpan.FromMinutes(-10)));
        Assert.True(decision.Allowed);
        Assert.Null(decision.Reason);
    }

    [Fact]
    public void R2_therapist_at_9_minutes_59_before_start_may_join()
    {
        Assert.True(JoinPolicy.CanTherapistJoin(Appointment(), Therapist, At(-TimeSpan.FromSeconds(599))).Allowed);
    }

    [Theory]
    [InlineData(601_000)] // 10:01 before
    [InlineData(600_001)] // 10:00.001 before
    [InlineData(86_400_000)] // a day before
    public void R2_therapist_earlier_than_10_minutes_before_start_is_refused_too_early(int millisecondsBefore)
    {
        var decision = JoinPolicy.CanTherapistJoin(Appointment(), Therapist, At(-TimeSpan.FromMilliseconds(millisecondsBefore)));
        Assert.False(decision.Allowed);
        Assert.Equal("too-early", decision.Reason);
    }

    [Fact]
    public void R2_one_tick_before_the_room_opens_is_too_early()
    {
        var decision = JoinPolicy.CanTherapistJoin(Appointment(), Therapist, JoinPolicy.OpensAt(Appointment()).AddTicks(-1));
        Assert.Equal("too-early", decision.Reason);
    }

    [Fact]
    public void R1_staff_not_listed_is_refused_not_listed_even_when_the_room_is_open()
    {
        var decision = JoinPolicy.CanTherapistJoin(Appointment(), OtherStaff, At(TimeSpan.FromMinutes(5)));
        Assert.False(decision.Allowed);
        Assert.Equal("not-listed", decision.Reason);
    }

    [Fact]
    public void R1_every_listed_therapist_may_join()
    {
        var second = Guid.NewGuid();
        var appointment = Appointment() with { TherapistIds = [Therapist, second] };
        Assert.True(JoinPolicy.CanTherapistJoin(appointment, second, Start).Allowed);
        Assert.True(JoinPolicy.CanTherapistJoin(appointment, Therapist, Start).Allowed);
    }

    [Fact]
    public void Therapist_after_end_within_grace_may_join_and_at_end_plus_grace_is_refused_ended()
    {
        var appointment = Appointment();
        Assert.True(JoinPolicy.CanTherapistJoin(appointment, Therapist, appointment.End).Allowed);
        Assert.True(JoinPolicy.CanTherapistJoin(appointment, Therapist, appointment.End + JoinPolicy.GracePeriod - TimeSpan.FromTicks(1)).Allowed);
        Assert.Equal("ended", JoinPolicy.CanTherapistJoin(appointment, Therapist, appointment.End + JoinPolicy.GracePeriod).Reason);
        Assert.Equal("ended", JoinPolicy.CanTherapistJoin(appointment, Therapist, appointment.End.AddDays(1)).Reason);
    }

    [Fact]
    public void Cancelled_appointment_refuses_therapists_and_links_with_cancelled()
    {
        var appointment = Appointment(AppointmentStatus.Cancelled);
        Assert.Equal("cancelled", JoinPolicy.CanTherapistJoin(appointment, Therapist, Start).Reason);
        Assert.Equal("cancelled", JoinPolicy.CheckJoinLink(appointment, Link(appointment, revokedAt: Start.AddDays(-1)), Start).Reason);
    }

    [Fact]
    public void Ended_session_refuses_therapists_and_links_with_ended()
    {
        var appointment = Appointment(AppointmentStatus.Ended);
        Assert.Equal("ended", JoinPolicy.CanTherapistJoin(appointment, Therapist, Start).Reason);
        Assert.Equal("ended", JoinPolicy.CheckJoinLink(appointment, Link(appointment), Start).Reason);
        Assert.Equal("ended", JoinPolicy.CanContactEnterRoom(appointment, Link(appointment), Start).Reason);
        Assert.False(JoinPolicy.IsPortalNotificationDue(appointment, Start));
    }

    [Fact]
    public void Non_teletherapy_appointment_has_no_session()
    {
        Assert.Equal("not-teletherapy", JoinPolicy.CanTherapistJoin(Appointment(teletherapy: false), Therapist, Start).Reason);
    }

    [Fact]
    public void Link_is_good_before_the_room_opens_but_its_holder_waits_for_the_room()
    {
        var appointment = Appointment();
        var early = Start.AddHours(-3);
        Assert.True(JoinPolicy.CheckJoinLink(appointment, Link(appointment), early).Allowed);
        Assert.Equal("too-early", JoinPolicy.CanContactEnterRoom(appointment, Link(appointment), early).Reason);
        Assert.Equal("too-early", JoinPolicy.CanContactEnterRoom(appointment, Link(appointment), Start.AddMinutes(-10).AddTicks(-1)).Reason);
        Assert.True(JoinPolicy.CanContactEnterRoom(appointment, Link(appointment), Start.AddMinutes(-10)).Allowed);
        Assert.False(JoinPolicy.IsRoomOpen(appointment, Start.AddMinutes(-10).AddTicks(-1)));
        Assert.True(JoinPolicy.IsRoomOpen(appointment, Start.AddMinutes(-10)));
    }

    [Fact]
    public void Link_expires_at_end_plus_grace()
    {
        var appointment = Appointment();
        var link = Link(appointment);
        Assert.Equal(appointment.End + TimeSpan.FromMinutes(60), link.ExpiresAt);
        Assert.True(JoinPolicy.CheckJoinLink(appointment, link, link.ExpiresAt.AddTicks(-1)).Allowed);
        Assert.Equal("link-expired", JoinPolicy.CheckJoinLink(appointment, link, link.ExpiresAt).Reason);
        Assert.Equal("link-expired", JoinPolicy.CanContactEnterRoom(appointment, link, link.ExpiresAt.AddMinutes(1)).Reason);
    }

    [Fact]
    public void Rescheduled_appointment_old_link_is_revoked()
    {
        var appointment = Appointment();
        var revoked = Link(appointment, revokedAt: Start.AddDays(-2));
        var decision = JoinPolicy.CheckJoinLink(appointment with { Start = Start.AddDays(1), End = Start.AddDays(1).AddMinutes(50) }, revoked, Start);
        Assert.False(decision.Allowed);
        Assert.Equal("link-revoked", decision.Reason);
    }

    [Fact]
    public void Link_for_another_appointment_is_not_found()
    {
        var appointment = Appointment();
        var link = Link(appointment) with { AppointmentId = Guid.NewGuid() };
        Assert.Equal("not-found", JoinPolicy.CheckJoinLink(appointment, link, Start).Reason);
    }

    [Fact]
    public void R7_scheduled_email_link_targets_the_first_occurrence_of_a_series()
    {
        var series = Guid.NewGuid();
        var occurrences = Enumerable.Range(0, 4)
            .Select(i => Appointment() with { Id = Guid.NewGuid(), Start = Start.AddDays(7 * i), End = Start.AddDays(7 * i).AddMinutes(50), SeriesId = series, SeriesIndex = i })
            .Reverse()
            .ToList();
        var target = JoinPolicy.ScheduledEmailLinkTarget(occurrences);
        Assert.Equal(0, target.SeriesIndex);
        Assert.Equal(Start, target.Start);
    }

    [Fact]
    public void R7_single_appointment_links_to_itself()
    {
        var single = Appointment();
        Assert.Same(single, JoinPolicy.ScheduledEmailLinkTarget([single]));
    }

    [Fact]
    public void R6_recipients_are_primary_and_every_email_reminder_contact_each_once()
    {
        var primary = new ContactFacts(Guid.NewGuid(), IsPrimary: true, "p@x.test", null, EmailReminders: false, SmsReminders: false);
        var caregiver = new ContactFacts(Guid.NewGuid(), IsPrimary: false, "c@x.test", null, EmailReminders: true, SmsReminders: false);
        var smsOnly = new ContactFacts(Guid.NewGuid(), IsPrimary: false, "s@x.test", "+4930", EmailReminders: false, SmsReminders: true);
        var silent = new ContactFacts(Guid.NewGuid(), IsPrimary: false, "n@x.test", null, EmailReminders: false, SmsReminders: false);
        var primaryWithReminders = primary with { Id = Guid.NewGuid(), EmailReminders = true, Email = "pr@x.test" };

        var recipients = JoinPolicy.ScheduledEmailRecipients([primary, caregiver, smsOnly, silent]);
        Assert.Equal([primary.Id, caregiver.Id], recipients.Select(r => r.Id));

        var once = JoinPolicy.ScheduledEmailRecipients([primaryWithReminders, primaryWithReminders]);
        Assert.Single(once);
    }

    [Fact]
    public void R6_primary_contact_without_email_gets_no_email()
    {
        var primary = new ContactFacts(Guid.NewGuid(), IsPrimary: true, null, "+4930", false, true);
        Assert.Empty(JoinPolicy.ScheduledEmailRecipients([primary]));
    }

    [Theory]
    [InlineData(false, false, false, ReminderChannels.None)]
    [InlineData(false, true, false, ReminderChannels.None)]
    [InlineData(false, false, true, ReminderChannels.None)]
    [InlineData(false, true, true, ReminderChannels.None)]
    [InlineData(true, false, false, ReminderChannels.None)]
    [InlineData(true, true, false, ReminderChannels.Email)]
    [InlineData(true, false, true, ReminderChannels.Sms)]
    [InlineData(true, true, true, ReminderChannels.Email | ReminderChannels.Sms)]
    public void R8_R9_reminders_follow_the_clinic_feature_and_each_contact_preference(bool featureOn, bool emailReminders, bool smsReminders, Enum expectedCase)
    {
        var expected = (ReminderChannels)expectedCase;
        var contact = new ContactFacts(Guid.NewGuid(), false, "c@x.test", "+49301234", emailReminders, smsReminders);
        Assert.Equal(expected, JoinPolicy.RemindersFor(featureOn, contact));
    }

    [Fact]
    public void R8_preference_without_address_sends_nothing_on_that_channel()
    {
        var contact = new ContactFacts(Guid.NewGuid(), false, null, null, EmailReminders: true, SmsReminders: true);
        Assert.Equal(ReminderChannels.None, JoinPolicy.RemindersFor(true, contact));
    }

    [Fact]
    public void R8_reminder_is_due_from_24_hours_before_until_the_start()
    {
        var appointment = Appointment();
        Assert.False(JoinPolicy.IsReminderDue(appointment, Start - TimeSpan.FromHours(24) - TimeSpan.FromTicks(1)));
        Assert.True(JoinPolicy.IsReminderDue(appointment, Start - TimeSpan.FromHours(24)));
        Assert.True(JoinPolicy.IsReminderDue(appointment, Start.AddTicks(-1)));
        Assert.False(JoinPolicy.IsReminderDue(appointment, Start));
        Assert.False(JoinPolicy.IsReminderDue(Appointment(AppointmentStatus.Cancelled), Start.AddHours(-1)));
    }

    [Fact]
    public void R9_sms_text_check_detects_links()
    {
        Assert.True(JoinPolicy.IsFreeOfLinks("Reminder: appointment on Monday. Open the reminder email or the portal to join."));
        Assert.False(JoinPolicy.IsFreeOfLinks("Join: https://clinic.example/join/abc"));
        Assert.False(JoinPolicy.IsFreeOfLinks("Join at www.clinic.example"));
    }

    [Fact]
    public void R10_portal_notification_appears_at_10_minutes_before_not_at_10_01()
    {
        var appointment = Appointment();
        Assert.False(JoinPolicy.IsPortalNotificationDue(appointment, At(-TimeSpan.FromSeconds(601))));
        Assert.False(JoinPolicy.IsPortalNotificationDue(appointment, Start.AddMinutes(-10).AddTicks(-1)));
        Assert.True(JoinPolicy.IsPortalNotificationDue(appointment, At(TimeSpan.FromMinutes(-10))));
        Assert.True(JoinPolicy.IsPortalNotificationDue(appointment, At(TimeSpan.FromMinutes(30))));
        Assert.False(JoinPolicy.IsPortalNotificationDue(appointment, appointment.End + JoinPolicy.GracePeriod));
        Assert.False(JoinPolicy.IsPortalNotificationDue(Appointment(AppointmentStatus.Cancelled), Start));
    }
}
