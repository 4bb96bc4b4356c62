-- Issue #15: the security audit trail, append-only audit tables, and outbox payloads that keep no links.

-- Messages already delivered or discarded keep no copy of their body (it held live join and portal links); from now on
-- the outbox sender empties each payload when it finishes the message.
UPDATE outbox_messages SET payload = '' WHERE sent_at IS NOT NULL OR discarded_at IS NOT NULL;

-- Sign-ins, refusals, reads of patient data and changes to staff, clinic and patients: ids only. Each row carries
-- SHA-256 over its content and the previous row's hash (AuditChain); ids are assigned by the appender (head + 1).
CREATE TABLE security_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NULL,
    subject_kind TEXT NULL,
    subject_id TEXT NULL,
    action TEXT NULL,
    reason TEXT NULL,
    detail TEXT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX security_events_at ON security_events (at);
CREATE INDEX security_events_kind ON security_events (kind, id);

-- Random keys of this installation (e.g. the key of the hashed email of a failed sign-in).
CREATE TABLE installation_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Append-only: UPDATE and DELETE of audit rows abort. Whoever can write the database file can drop the triggers;
-- the hash chain shows what they then changed.
CREATE TRIGGER security_events_no_update BEFORE UPDATE ON security_events
BEGIN SELECT RAISE(ABORT, 'security_events is append-only: UPDATE refused'); END;
CREATE TRIGGER security_events_no_delete BEFORE DELETE ON security_events
BEGIN SELECT RAISE(ABORT, 'security_events is append-only: DELETE refused'); END;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END;
CREATE TRIGGER access_refusals_no_update BEFORE UPDATE ON access_refusals
BEGIN SELECT RAISE(ABORT, 'access_refusals is append-only: UPDATE refused'); END;
CREATE TRIGGER access_refusals_no_delete BEFORE DELETE ON access_refusals
BEGIN SELECT RAISE(ABORT, 'access_refusals is append-only: DELETE refused'); END;
