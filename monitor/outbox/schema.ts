// Outbox schema, one SQL script per version (user_version counts the scripts applied).
// `tier` is stored so that eviction walks an index (tier, seq) instead of sorting the table.

export const OUTBOX_MIGRATIONS: readonly string[] = [
  `CREATE TABLE outbox_entry (
     seq INTEGER PRIMARY KEY,
     class TEXT NOT NULL,
     tier INTEGER NOT NULL,
     topic_suffix TEXT NOT NULL,
     payload BLOB NOT NULL,
     created_ms INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0
   ) STRICT;
   CREATE INDEX outbox_entry_tier ON outbox_entry (tier, seq);
   CREATE INDEX outbox_entry_created ON outbox_entry (created_ms);
   CREATE TABLE outbox_counter (
     class TEXT PRIMARY KEY,
     written INTEGER NOT NULL,
     delivered INTEGER NOT NULL,
     evicted INTEGER NOT NULL,
     evicted_bytes INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;`,
];
