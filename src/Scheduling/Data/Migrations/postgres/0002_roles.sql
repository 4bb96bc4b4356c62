-- Roles on staff accounts (existing accounts become therapists), deactivation, contacts that can be removed and named
-- by their relationship to the patient, and a log of refused reads of patient data.
ALTER TABLE staff ADD COLUMN role TEXT NOT NULL DEFAULT 'therapist';
ALTER TABLE staff ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE contacts ADD COLUMN relationship TEXT NULL;
ALTER TABLE contacts ADD COLUMN removed_at TIMESTAMPTZ NULL;

CREATE TABLE access_refusals (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    resource_kind TEXT NOT NULL,
    resource_id UUID NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX access_refusals_at ON access_refusals (at);
