-- The admission state of a session room (who is admitted, denied or waiting, in which order, with which device key),
-- so that a room whose node went away comes back on another one as it was. One row per appointment; a write with a
-- version lower than the stored one is ignored. Holds contact names: rows are pruned a day after the room closes.
CREATE TABLE session_room_states (
    appointment_id UUID PRIMARY KEY REFERENCES appointments (id),
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
