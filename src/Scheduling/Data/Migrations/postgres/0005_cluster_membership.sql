-- Cluster mode: the membership table of the cluster's nodes (which nodes belong to it, their status, the suspicions
-- against them). One version row per cluster; every change to a member row also moves the version row on, in the same
-- transaction and only if its etag is still the one the writer read, so of two nodes writing at once one loses.
CREATE TABLE cluster_versions (
    cluster_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    etag TEXT NOT NULL
);

-- address: the node's parsable address (ip:port@generation). entry: the whole membership entry as JSON (status and
-- heartbeat are also columns, for the cleanup query). i_am_alive_at: the node's last heartbeat, written alone without
-- changing etag. changed_at: the latest time the entry itself names (start or latest suspicion), so a node declared
-- dead recently is kept however long ago its last heartbeat was.
CREATE TABLE cluster_members (
    cluster_id TEXT NOT NULL REFERENCES cluster_versions (cluster_id),
    address TEXT NOT NULL,
    status INTEGER NOT NULL,
    entry TEXT NOT NULL,
    etag TEXT NOT NULL,
    i_am_alive_at TIMESTAMPTZ NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (cluster_id, address)
);
