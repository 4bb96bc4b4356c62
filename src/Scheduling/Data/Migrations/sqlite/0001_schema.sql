-- Times are UTC text in the fixed format yyyy-MM-ddTHH:mm:ss.fffffffZ (see Data/SqlDialects.cs), so text order is time order.
-- Ids are lower-case GUID text. Booleans are 0/1.
CREATE TABLE clinics (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    reminders_enabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    name TEXT NOT NULL,
    email TEXT NULL,
    phone TEXT NULL,
    role TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    email_reminders INTEGER NOT NULL DEFAULT 0,
    sms_reminders INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX contacts_patient ON contacts (patient_id);
CREATE INDEX contacts_email ON contacts (email);

CREATE TABLE series (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    occurrence_count INTEGER NOT NULL,
    interval_days INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    series_id TEXT NULL REFERENCES series (id),
    series_index INTEGER NOT NULL DEFAULT 0,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    teletherapy INTEGER NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX appointments_start ON appointments (start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);

CREATE TABLE appointment_therapists (
    appointment_id TEXT NOT NULL REFERENCES appointments (id),
    staff_id TEXT NOT NULL REFERENCES staff (id),
    PRIMARY KEY (appointment_id, staff_id)
);
CREATE INDEX appointment_therapists_staff ON appointment_therapists (staff_id);

CREATE TABLE join_links (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    appointment_id TEXT NOT NULL REFERENCES appointments (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    kind TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT NULL,
    revoked_reason TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX join_links_active ON join_links (appointment_id, contact_id, kind) WHERE revoked_at IS NULL;

CREATE TABLE outbox_messages (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    appointment_id TEXT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT NULL UNIQUE,
    created_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    discard_after TEXT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NULL,
    claim_token TEXT NULL,
    claimed_until TEXT NULL,
    sent_at TEXT NULL,
    discarded_at TEXT NULL
);
CREATE INDEX outbox_pending ON outbox_messages (not_before) WHERE sent_at IS NULL AND discarded_at IS NULL;
CREATE INDEX outbox_appointment ON outbox_messages (appointment_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    appointment_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NULL,
    subject_id TEXT NULL,
    reason TEXT NULL
);
CREATE INDEX audit_events_appointment ON audit_events (appointment_id, at);

CREATE TABLE portal_login_tokens (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT NULL,
    created_at TEXT NOT NULL
);
