/**
 * The store's schema, as forward migrations: migration k takes a database at user_version
 * k − 1 to k. A database is never migrated backwards: one written by a newer Starling is
 * refused (db.ts). Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, their rounds, each client's part in each round, and federated evaluation
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'stopped')),
    error TEXT,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    rounds_planned INTEGER NOT NULL,
    data TEXT NOT NULL,
    model TEXT NOT NULL,
    strategy TEXT NOT NULL,
    code_version TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    dir TEXT,
    final_weights_sha256 TEXT
  );
  CREATE TABLE rounds (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    accuracy REAL,
    loss REAL,
    seconds REAL NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    clients INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    train_loss REAL,
    train_accuracy REAL,
    epsilon REAL,
    delta REAL,
    skipped INTEGER NOT NULL,
    skip_reason TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, round)
  );
  CREATE TABLE client_results (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    client TEXT NOT NULL,
    examples INTEGER,
    metrics TEXT,
    partial INTEGER,
    failure TEXT,
    PRIMARY KEY (run_id, round, client),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
  );
  CREATE TABLE federated_results (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    client TEXT NOT NULL,
    examples INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (run_id, round, client),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
  );
  CREATE INDEX runs_by_start ON runs (started_at);
  `,
  // 2: each round's checkpoint file (the weights stay in files), how often a run was resumed, the DP releases no
  // checkpoint holds yet, and tuning searches
  `
  CREATE TABLE checkpoints (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, round),
    FOREIGN KEY (run_id, round) REFERENCES rounds (run_id, round) ON DELETE CASCADE
  );
  ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN kind TEXT CHECK (kind IN ('coordinator', 'simulation'));
  CREATE TABLE releases (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    rate REAL NOT NULL,
    started_at TEXT NOT NULL
  );
  CREATE INDEX releases_by_run ON releases (run_id, round);
  CREATE TABLE searches (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL
  );
  CREATE TABLE trials (
    search_id INTEGER NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    assignment TEXT NOT NULL,
    PRIMARY KEY (search_id, trial)
  );
  CREATE TABLE trial_results (
    id INTEGER PRIMARY KEY,
    search_id INTEGER NOT NULL,
    trial INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    rounds INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'stopped')),
    score REAL,
    error TEXT,
    seconds REAL NOT NULL,
    FOREIGN KEY (search_id, trial) REFERENCES trials (search_id, trial) ON DELETE CASCADE
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
