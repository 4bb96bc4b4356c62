-- The keys that sign cookies, kept across restarts (in the data folder with the rest of the database).
CREATE TABLE data_protection_keys (
    name TEXT PRIMARY KEY,
    xml TEXT NOT NULL,
    created_at TEXT NOT NULL
);
