-- Cluster mode: nodes an administrator is draining. They take no new rooms; the address names one run of a node
-- (ip:port@generation), so a node that restarts is open again.
CREATE TABLE cluster_draining (
    cluster_id TEXT NOT NULL,
    address TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cluster_id, address)
);
