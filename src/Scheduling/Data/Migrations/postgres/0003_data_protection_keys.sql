-- The keys that sign cookies, shared by every node of the installation and kept across restarts.
CREATE TABLE data_protection_keys (
    name TEXT PRIMARY KEY,
    xml TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
