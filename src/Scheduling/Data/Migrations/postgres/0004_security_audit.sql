-- Issue #15: the security audit trail, append-only audit tables, and outbox payloads that keep no links.

-- Messages already delivered or discarded keep no copy of their body (it held live join and portal links); from now on
-- the outbox sender empties each payload when it finishes the message.
UPDATE outbox_messages SET payload = '' WHERE sent_at IS NOT NULL OR discarded_at IS NOT NULL;

-- Sign-ins, refusals, reads of patient data and changes to staff, clinic and patients: ids only. Each row carries
-- SHA-256 over its content and the previous row's hash (AuditChain); ids are assigned by the appender (head + 1).
CREATE TABLE security_events (
    id BIGINT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    subject_kind TEXT NULL,
    subject_id UUID NULL,
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
    created_at TIMESTAMPTZ NOT NULL
);

-- Append-only: the application's own role owns these tables, and an owner keeps UPDATE and DELETE whatever is
-- revoked, so a trigger refuses them for every role. Only someone who can also alter the table (disable the trigger)
-- can change a row, and the hash chain shows it.
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER security_events_append_only BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER access_refusals_append_only BEFORE UPDATE OR DELETE ON access_refusals
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER access_refusals_no_truncate BEFORE TRUNCATE ON access_refusals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
