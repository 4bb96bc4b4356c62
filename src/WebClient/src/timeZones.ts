/** Wall-clock times in a named IANA time zone (the clinic's), with daylight saving time handled by Intl. */

const MinuteMs = 60_000;
const DayMs = 86_400_000;

/** Common zones, offered when the browser cannot list the ones it knows. */
const CommonZones = [
  'UTC', 'Europe/London', 'Europe/Dublin', 'Europe/Lisbon', 'Europe/Berlin', 'Europe/Amsterdam', 'Europe/Brussels',
  'Europe/Paris', 'Europe/Madrid', 'Europe/Rome', 'Europe/Vienna', 'Europe/Zurich', 'Europe/Copenhagen', 'Europe/Oslo',
  'Europe/Stockholm', 'Europe/Helsinki', 'Europe/Warsaw', 'Europe/Prague', 'Europe/Budapest', 'Europe/Athens',
  'Europe/Bucharest', 'Europe/Istanbul', 'Europe/Kyiv', 'Africa/Johannesburg', 'Africa/Lagos', 'Africa/Nairobi',
  'Asia/Dubai', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Shanghai', 'Asia/Tokyo', 'Australia/Perth', 'Australia/Sydney',
  'Pacific/Auckland', 'America/St_Johns', 'America/Halifax', 'America/New_York', 'America/Toronto', 'America/Chicago',
  'America/Denver', 'America/Phoenix', 'America/Los_Angeles', 'America/Anchorage', 'Pacific/Honolulu',
  'America/Mexico_City', 'America/Bogota', 'America/Sao_Paulo', 'America/Argentina/Buenos_Aires',
];

/** The zones for a time-zone field's suggestions. */
export function timeZoneNames(): string[] {
  const listed = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return listed.length > 0 ? listed : CommonZones;
}

/** The browser's own zone, e.g. Europe/Berlin. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Whether the browser knows the zone (the server has the last word). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return name.trim().length > 0;
  } catch {
    return false;
  }
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

function partsFormat(timeZone: string): Intl.DateTimeFormat {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    offsetFormats.set(timeZone, format);
  }
  return format;
}

/** The zone's offset from UTC, in minutes, at an instant (e.g. 60 for Europe/Berlin in winter, 120 in summer). */
export function zoneOffsetMinutes(timeZone: string, instantMs: number): number {
  const parts = partsFormat(timeZone).formatToParts(new Date(instantMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? '0');
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return Math.round((wall - Math.floor(instantMs / 1000) * 1000) / MinuteMs);
}

/** yyyy-mm-dd and hh:mm as milliseconds of a UTC wall clock, or null when they are not a date and a time. */
function wallMs(date: string, time: string): number | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time);
  if (!d || !t) return null;
  const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  const check = new Date(ms);
  return check.getUTCDate() === Number(d[3]) && check.getUTCHours() === Number(t[1]) ? ms : null;
}

export type LocalTime = { ok: true; iso: string; offsetMinutes: number } | { ok: false; reason: 'invalid' | 'skipped' };

/**
 * A wall-clock date and time in `timeZone` as an ISO 8601 string with that zone's offset at that moment.
 * The offsets a day either side are the candidates; a candidate is right when the zone has it at the resulting
 * instant. Twice-occurring times (clocks going back) take the first; times that do not occur (clocks going
 * forward) are refused as `skipped`.
 */
export function localToIso(date: string, time: string, timeZone: string): LocalTime {
  const wall = wallMs(date, time);
  if (wall === null) return { ok: false, reason: 'invalid' };
  const candidates = [...new Set([zoneOffsetMinutes(timeZone, wall - DayMs), zoneOffsetMinutes(timeZone, wall + DayMs)])];
  const valid = candidates
    .map((offset) => ({ offset, instant: wall - offset * MinuteMs }))
    .filter((c) => zoneOffsetMinutes(timeZone, c.instant) === c.offset)
    .sort((a, b) => a.instant - b.instant);
  if (valid.length === 0) return { ok: false, reason: 'skipped' };
  const offset = valid[0].offset;
  return { ok: true, iso: `${date}T${time}:00${formatOffset(offset)}`, offsetMinutes: offset };
}

/** +01:00, -05:00, +05:30. */
export function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant as yyyy-mm-dd and hh:mm on the wall clock of `timeZone` (for date and time inputs). */
export function isoToLocal(iso: string, timeZone: string): { date: string; time: string } {
  const parts = partsFormat(timeZone).formatToParts(new Date(iso));
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const hour = String(Number(get('hour')) % 24).padStart(2, '0');
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${hour}:${get('minute')}` };
}

function inZone(timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(undefined, { timeZone, ...options });
}

/** "14:02" on the clock of `timeZone`. */
export function timeInZone(iso: string, timeZone: string): string {
  return inZone(timeZone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

/** "Tuesday 8 December 2026" on the calendar of `timeZone`. */
export function dayInZone(iso: string, timeZone: string): string {
  return inZone(timeZone, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(iso));
}

/** "8 Dec, 14:02" on the clock of `timeZone`. */
export function shortDateTimeInZone(iso: string, timeZone: string): string {
  return inZone(timeZone, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

// ---- appointment times as the clinic states them --------------------------------------------------------------

/** The zone's canonical name as the browser knows it (Etc/UTC and UTC alike), or null when the browser does not know it. */
function canonicalZone(name: string | null | undefined): string | null {
  if (!name || name.trim().length === 0) return null;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: name.trim() }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * The zone a page shows appointment times in: the clinic's (emails state times in it), or the browser's own when the
 * clinic's is unknown to the browser. `named` is true when the browser's zone is another one, so times carry its name.
 */
export function clinicZone(timeZone: string | null | undefined): { zone: string; named: boolean } {
  const clinic = canonicalZone(timeZone);
  const own = canonicalZone(browserTimeZone()) ?? 'UTC';
  return clinic === null || clinic === own ? { zone: own, named: false } : { zone: timeZone!.trim(), named: true };
}

export interface ClinicTimeOptions {
  /** The end of a range: "06:28–07:18". */
  end?: string | null;
  /** The day first: "Tuesday 8 December 2026, 06:28" (full), "Tuesday 8 December, 06:28" (long), "Tue 8 Dec, 06:28" (short). */
  day?: DayStyle;
  /** With the viewer's own clock, "(05:28 your time)", when it shows another time (the default); off for tight spaces. */
  ownTime?: boolean;
}

export type DayStyle = 'full' | 'long' | 'short';

const dayOptions: Record<DayStyle, Intl.DateTimeFormatOptions> = {
  full: { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' },
  long: { weekday: 'long', day: 'numeric', month: 'long' },
  short: { weekday: 'short', day: 'numeric', month: 'short' },
};
const clockOptions: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

/**
 * An appointment time as the clinic's emails state it, the one way every page shows one: on the clinic's clock,
 * "06:28", when the browser is in the clinic's zone; else with the zone's name, "06:28 Europe/Berlin", and the viewer's
 * own time when their clock differs, "06:28 Europe/Berlin (05:28 your time)". A zone the browser does not know falls
 * back to the viewer's clock without a name.
 */
export function clinicTime(start: string, timeZone: string | null | undefined, options: ClinicTimeOptions = {}): string {
  const { zone, named } = clinicZone(timeZone);
  const end = options.end ?? null;
  const span = (tz: string | undefined): string => {
    const clock = new Intl.DateTimeFormat(undefined, { ...clockOptions, timeZone: tz });
    return end ? `${clock.format(new Date(start))}–${clock.format(new Date(end))}` : clock.format(new Date(start));
  };
  const day = (tz: string | undefined, style: DayStyle): string =>
    new Intl.DateTimeFormat(undefined, { ...dayOptions[style], timeZone: tz }).format(new Date(start));
  const text = options.day ? `${day(zone, options.day)}, ${span(zone)}` : span(zone);
  if (!named) return text;
  if (options.ownTime === false || sameClockAsViewer(start, zone)) return `${text} ${zone}`;
  // The viewer's own day too when the day has a name here and it is another one on the viewer's calendar.
  const ownDay = options.day && day(undefined, 'short') !== day(zone, 'short') ? `${day(undefined, 'short')}, ` : '';
  return `${text} ${zone} (${ownDay}${span(undefined)} your time)`;
}

/** A start and end the same way: "06:28–07:18 Europe/Berlin (05:28–06:18 your time)". */
export function clinicRange(start: string, end: string | null, timeZone: string | null | undefined): string {
  return clinicTime(start, timeZone, { end });
}

/** "Tuesday 8 December" on the clinic's calendar (the viewer's own without a zone the browser knows). */
export function clinicDay(iso: string, timeZone: string | null | undefined): string {
  return new Intl.DateTimeFormat(undefined, { ...dayOptions.long, timeZone: clinicZone(timeZone).zone }).format(new Date(iso));
}

/** Whether the viewer's own clock shows the same time as the zone's at that instant (then the viewer's own time adds nothing). */
function sameClockAsViewer(iso: string, timeZone: string): boolean {
  const instant = Date.parse(iso);
  return zoneOffsetMinutes(timeZone, instant) === -new Date(instant).getTimezoneOffset();
}

// ---- the clinic's calendar days (yyyy-mm-dd), for the week view -----------------------------------------------

/** Today's date on the clinic's calendar. */
export function todayIn(timeZone: string): string {
  return isoToLocal(new Date().toISOString(), timeZone).date;
}

/** The date (yyyy-mm-dd) on the zone's calendar of an instant. */
export function dateIn(iso: string, timeZone: string): string {
  return isoToLocal(iso, timeZone).date;
}

function dateMs(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function msDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The date `days` later (earlier when negative). */
export function addDaysTo(date: string, days: number): string {
  return msDate(dateMs(date) + days * DayMs);
}

/** The Monday of the week the date is in. */
export function mondayOf(date: string): string {
  return addDaysTo(date, -((new Date(dateMs(date)).getUTCDay() + 6) % 7));
}

/** Whether the text is a yyyy-mm-dd date. */
export function isDate(text: string | null): text is string {
  return text !== null && wallMs(text, '00:00') !== null;
}

/** The instant the date begins in the zone (its first hour when clocks skip midnight there). */
export function dayStartIso(date: string, timeZone: string): string {
  for (const time of ['00:00', '01:00', '02:00']) {
    const local = localToIso(date, time, timeZone);
    if (local.ok) return new Date(local.iso).toISOString();
  }
  return new Date(dateMs(date)).toISOString();
}

/** A calendar date in words, "Tuesday 8 December" (long) or "Tue 8 Dec" (short): a date, no zone involved. */
export function formatDate(date: string, style: DayStyle): string {
  return new Intl.DateTimeFormat(undefined, { ...dayOptions[style], timeZone: 'UTC' }).format(new Date(dateMs(date) + DayMs / 2));
}
