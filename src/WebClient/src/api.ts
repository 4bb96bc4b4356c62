/** JSON over fetch with the server's problem responses (application/problem+json with a `reason`). */

export interface Problem {
  status: number;
  reason: string | null;
  title: string | null;
  detail: string | null;
  opensAt: string | null;
  /** Validation errors by field (e.g. `contacts[1].email`). */
  errors?: Record<string, string[]>;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, problem: { status: 0, reason: 'offline', title: null, detail: null, opensAt: null } };
  }
  if (response.ok) {
    const text = await response.text();
    return { ok: true, value: (text.length > 0 ? JSON.parse(text) : null) as T };
  }
  let parsed: Record<string, unknown> = {};
  try {
    parsed = (await response.json()) as Record<string, unknown>;
  } catch {
    parsed = {};
  }
  const text = (key: string): string | null => (typeof parsed[key] === 'string' ? (parsed[key] as string) : null);
  const errors = typeof parsed.errors === 'object' && parsed.errors !== null ? (parsed.errors as Record<string, string[]>) : undefined;
  return { ok: false, problem: { status: response.status, reason: text('reason'), title: text('title'), detail: text('detail'), opensAt: text('opensAt'), errors } };
}

export type Role = 'admin' | 'scheduler' | 'therapist';
export type AppointmentStatus = 'scheduled' | 'cancelled' | 'ended';

/** A calendar entry (GET /api/v1/appointments). canJoin/joinRefusedReason are for the signed-in staff member. */
export interface CalendarItem {
  id: string;
  patientId: string;
  patientName: string;
  seriesId: string | null;
  seriesIndex: number;
  start: string;
  end: string;
  opensAt: string;
  teletherapy: boolean;
  status: AppointmentStatus;
  therapistIds: string[];
  canJoin: boolean | null;
  joinRefusedReason: string | null;
}

/** The signed-in staff member (GET /api/v1/auth/me, POST /api/v1/auth/login, POST /api/v1/setup). */
export interface StaffMember {
  id: string;
  name: string;
  email: string;
  role: Role;
}

/** GET /api/v1/setup. */
export interface SetupStatus {
  required: boolean;
}

/** POST /api/v1/setup. */
export interface SetupInput {
  clinicName: string;
  timeZone: string;
  name: string;
  email: string;
  password: string;
}

/** GET /api/v1/staff, PUT /api/v1/staff/{id}. */
export interface StaffAccount extends StaffMember {
  active: boolean;
}

/** POST /api/v1/staff. */
export interface StaffInput {
  name: string;
  email: string;
  password: string;
  role: Role;
}

/** PUT /api/v1/staff/{id}: what is omitted stays as it is. */
export interface StaffUpdate {
  name?: string;
  role?: Role;
  active?: boolean;
}

/** GET /api/v1/therapists: active staff who can be listed on an appointment. */
export interface Therapist {
  id: string;
  name: string;
}

/** GET/PUT /api/v1/clinic. */
export interface Clinic {
  id: string;
  name: string;
  timeZone: string;
  remindersEnabled: boolean;
}

export interface ClinicInput {
  name: string;
  timeZone: string;
  remindersEnabled: boolean;
}

export type ContactRole = 'patient' | 'caregiver';

export interface Contact {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  role: ContactRole;
  relationship: string | null;
  isPrimary: boolean;
  emailReminders: boolean;
  smsReminders: boolean;
}

/** A contact as sent to the server: with `id` it is updated, without it is added. */
export interface ContactInput {
  id?: string;
  name: string;
  email: string | null;
  phone: string | null;
  role?: ContactRole;
  relationship: string | null;
  isPrimary: boolean;
  emailReminders: boolean;
  smsReminders: boolean;
}

export interface Patient {
  id: string;
  name: string;
  contacts: Contact[];
}

/** POST /api/v1/patients, PUT /api/v1/patients/{id}. */
export interface PatientInput {
  name: string;
  contacts: ContactInput[];
}

/** POST /api/v1/appointments; weekly is intervalDays 7 × N. */
export interface AppointmentInput {
  patientId: string;
  therapistIds: string[];
  start: string;
  durationMinutes: number;
  teletherapy: boolean;
  repeat?: { count: number; intervalDays: number };
}

/** 201 of POST /api/v1/appointments. */
export interface AppointmentCreated {
  id: string;
  seriesId: string | null;
  occurrences: Array<{ id: string; start: string }>;
}

/** PUT /api/v1/appointments/{id}: a move of one occurrence. */
export interface RescheduleInput {
  start: string;
  durationMinutes: number;
  therapistIds?: string[];
}

/** GET /api/v1/appointments/{id}. */
export interface AppointmentDetails {
  id: string;
  patientId: string;
  patientName: string;
  seriesId: string | null;
  seriesIndex: number;
  start: string;
  end: string;
  opensAt: string;
  teletherapy: boolean;
  status: AppointmentStatus;
  therapistIds: string[];
  therapists: Therapist[];
  timeZone: string;
}

export type EmailKind = 'scheduled' | 'rescheduled' | 'reminder' | 'cancelled';
export type EmailStatus = 'pending' | 'sent' | 'discarded';

/** GET /api/v1/appointments/{id}/emails. */
export interface OutboxEmail {
  id: string;
  kind: EmailKind;
  recipientName: string | null;
  recipient: string;
  createdAt: string;
  sentAt: string | null;
  status: EmailStatus;
}

export type AuditKind =
  | 'link-opened' | 'knocked' | 'admitted' | 'denied' | 'sent-back' | 'joined' | 'left' | 'dropped' | 'rejoined'
  | 'ended' | 'removed' | 'join-refused' | 'read-refused';
export type ActorKind = 'staff' | 'contact' | 'integrator' | 'system';

/** GET /api/v1/appointments/{id}/audit (admin, listed therapist). */
export interface AuditEvent {
  id: number | string;
  appointmentId: string;
  at: string;
  kind: AuditKind | string;
  actorKind: ActorKind | string;
  actorId: string | null;
  actorName: string | null;
  subjectId: string | null;
  subjectName: string | null;
  reason: string | null;
}

/** GET /api/v1/appointments/{id}/minutes: face-to-face time, waiting excluded. */
export interface FaceToFaceMinutes {
  appointmentId: string;
  minutes: number;
  seconds: number;
}

/** GET /api/v1/join/{token}. */
export interface JoinLink {
  appointmentId: string;
  start: string;
  end: string;
  opensAt: string;
  status: 'waiting' | 'open';
  contactName: string;
  role: string;
  /** The clinic's time zone (IANA), in which its emails state the time. */
  timeZone: string;
}

/** GET /api/v1/portal/notifications. */
export interface PortalNotification {
  appointmentId: string;
  contactId: string;
  clinicName: string;
  patientName: string;
  start: string;
  end: string;
  opensAt: string;
  joinPath: string;
  /** The clinic's time zone (IANA), in which its emails state the time. */
  timeZone: string;
}
