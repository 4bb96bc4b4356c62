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

export async function api<T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<ApiResult<T>> {
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

/** A calendar entry (GET /api/v1/appointments). */
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
  status: string;
  therapistIds: string[];
  canJoin: boolean | null;
  joinRefusedReason: string | null;
}

export type Role = 'admin' | 'scheduler' | 'therapist';

export interface StaffMember {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface StaffAccount extends StaffMember {
  active: boolean;
}

export interface Therapist {
  id: string;
  name: string;
}

export interface Clinic {
  id: string;
  name: string;
  timeZone: string;
  remindersEnabled: boolean;
}

export interface Contact {
  id?: string;
  name: string;
  email: string | null;
  phone: string | null;
  role?: string;
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

export interface AppointmentDetail {
  id: string;
  patientId: string;
  patientName: string;
  seriesId: string | null;
  seriesIndex: number;
  start: string;
  end: string;
  teletherapy: boolean;
  status: string;
  therapistIds: string[];
  therapists: Therapist[];
  timeZone: string;
}

export interface AppointmentEmail {
  id: string;
  kind: string;
  recipientName: string | null;
  recipient: string;
  createdAt: string;
  sentAt: string | null;
  status: string;
}

export interface AuditEntry {
  at: string;
  kind: string;
  actorKind: string;
  actorName: string | null;
  subjectName: string | null;
  reason: string | null;
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
}
