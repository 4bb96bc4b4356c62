/** JSON over fetch with the server's problem responses (application/problem+json with a `reason`). */

export interface Problem {
  status: number;
  reason: string | null;
  title: string | null;
  detail: string | null;
  opensAt: string | null;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export async function api<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<ApiResult<T>> {
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
  return { ok: false, problem: { status: response.status, reason: text('reason'), title: text('title'), detail: text('detail'), opensAt: text('opensAt') } };
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

export interface StaffMember {
  id: string;
  name: string;
  email: string;
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
