-- Times are timestamptz (UTC), ids uuid, flags boolean.
CREATE TABLE clinics (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    reminders_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff (
    id UUID PRIMARY KEY,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE patients (
    id UUID PRIMARY KEY,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    name TEXT NOT NULL,
    email TEXT NULL,
    phone TEXT NULL,
    role TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    email_reminders BOOLEAN NOT NULL DEFAULT FALSE,
    sms_reminders BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_patient ON contacts (patient_id);
CREATE INDEX contacts_email ON contacts (email);

CREATE TABLE series (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    occurrence_count INTEGER NOT NULL,
    interval_days INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE appointments (
    id UUID PRIMARY KEY,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    series_id UUID NULL REFERENCES series (id),
    series_index INTEGER NOT NULL DEFAULT 0,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    teletherapy BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX appointments_start ON appointments (start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);

CREATE TABLE appointment_therapists (
    appointment_id UUID NOT NULL REFERENCES appointments (id),
    staff_id UUID NOT NULL REFERENCES staff (id),
    PRIMARY KEY (appointment_id, staff_id)
);
CREATE INDEX appointment_therapists_staff ON appointment_therapists (staff_id);

CREATE TABLE join_links (
    id UUID PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    appointment_id UUID NOT NULL REFERENCES appointments (id),
    contact_id UUID NOT NULL REFERENCES contacts (id),
    kind TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NULL,
    revoked_reason TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX join_links_active ON join_links (appointment_id, contact_id, kind) WHERE revoked_at IS NULL;

CREATE TABLE outbox_messages (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    appointment_id UUID NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    not_before TIMESTAMPTZ NOT NULL,
    discard_after TIMESTAMPTZ NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NULL,
    claim_token UUID NULL,
    claimed_until TIMESTAMPTZ NULL,
    sent_at TIMESTAMPTZ NULL,
    discarded_at TIMESTAMPTZ NULL
);
CREATE INDEX outbox_pending ON outbox_messages (not_before) WHERE sent_at IS NULL AND discarded_at IS NULL;
CREATE INDEX outbox_appointment ON outbox_messages (appointment_id);

CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id UUID NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    subject_id UUID NULL,
    reason TEXT NULL
);
CREATE INDEX audit_events_appointment ON audit_events (appointment_id, at);

CREATE TABLE portal_login_tokens (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL
);
