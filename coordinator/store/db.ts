import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StarlingError } from '../../shared/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';

export type Db = Database.Database;

/**
 * Opens (creating it and its folder when absent) the SQLite file at `path` in WAL mode and
 * brings its schema to SCHEMA_VERSION, one forward migration at a time, each in a
 * transaction. A file that is not a SQLite database, or one written by a newer Starling, is
 * an E_STORE error naming the file; nothing in it is changed.
 */
export function openDb(path: string, options: { readonly readonly?: boolean } = {}): Db {
  if (!options.readonly && path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // results derived from what the peers sent: the owner's alone, like the run files (SQLite gives its -wal and -shm files the same mode)
    if (!existsSync(path)) writeFileSync(path, '', { mode: 0o600, flag: 'wx' });
  }
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StarlingError(
        'E_STORE',
        `run store ${path} has schema version ${version}, written by a newer Starling (this one reads up to ${SCHEMA_VERSION})`,
      );
    }
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // a committed round survives a process crash (WAL); NORMAL defers only the fsync against power loss
      db.pragma('synchronous = NORMAL');
      migrate(db, version);
    }
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (cause) {
    db?.close();
    if (cause instanceof StarlingError) throw cause;
    const code = (cause as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new StarlingError('E_STORE', `run store ${path} is not a SQLite database (corrupt, truncated or another file)`, { cause });
    throw new StarlingError('E_STORE', `cannot open the run store ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Applies the migrations after `from`, each with the version it reaches, in one transaction each. */
function migrate(db: Db, from: number): void {
  for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]!);
      db.pragma(`user_version = ${v}`);
    })();
  }
}
