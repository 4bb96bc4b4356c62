CREATE TABLE clinics (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    reminders_enabled BOOLEAN NOT NULL DEFAULT FALSE
);
