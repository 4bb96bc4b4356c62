CREATE TABLE clinics (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    reminders_enabled INTEGER NOT NULL DEFAULT 0
);
