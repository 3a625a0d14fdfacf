import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { assertOwnerOnly } from './identity-file.ts';

/**
 * The join token, from wherever it was given, resolved in this one place for the
 * coordinator and the client alike. A token on the command line sits in the process
 * list and the shell history, so the file (`--join-token-file`, config `joinTokenFile`)
 * and the environment (`STARLING_JOIN_TOKEN`) are the forms to use; `--join-token`
 * (config `joinToken`) still works. Anything given explicitly wins over the environment.
 */
export const JOIN_TOKEN_ENV = 'STARLING_JOIN_TOKEN';

/** Shorter secrets are guessable offline from one recorded handshake's proof. */
export const MIN_JOIN_TOKEN_CHARS = 16;

export interface JoinTokenSources {
  /** The token itself (`--join-token`, config `joinToken`). */
  readonly token?: string;
  /** A file holding the token (`--join-token-file`, config `joinTokenFile`). */
  readonly file?: string;
  /** Where STARLING_JOIN_TOKEN is read from when neither is given (process.env by default). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The join token, or undefined when none is given anywhere (an empty STARLING_JOIN_TOKEN counts as unset). */
export function resolveJoinToken(sources: JoinTokenSources): string | undefined {
  const { token, file } = sources;
  if (token !== undefined && file !== undefined) {
    throw new ConfigError(
      'both a join token (--join-token / joinToken) and a join token file (--join-token-file / joinTokenFile) are given; keep one (the file)',
    );
  }
  if (token !== undefined) return checkedToken(token, '--join-token');
  if (file !== undefined) return readJoinTokenFile(file);
  const fromEnv = (sources.env ?? process.env)[JOIN_TOKEN_ENV]?.trim();
  return fromEnv ? checkedToken(fromEnv, JOIN_TOKEN_ENV) : undefined;
}

/**
 * A join token file's content, trimmed of surrounding whitespace (an editor's or `echo`'s
 * newline is not part of the secret). Like a key file, it must be readable by its owner only.
 */
export function readJoinTokenFile(file: string): string {
  if (!existsSync(file)) throw new ConfigError(`join token file ${file} does not exist (make one with: umask 077; openssl rand -base64 32 > ${file})`);
  if (!statSync(file).isFile()) throw new ConfigError(`join token file ${file} is not a regular file`);
  assertOwnerOnly(file, 'join token file');
  const token = readFileSync(file, 'utf8').trim();
  if (token === '') throw new ConfigError(`join token file ${file} is empty`);
  return checkedToken(token, `join token file ${file}`);
}

/** Refuses a short token, naming where it came from but never echoing it. */
function checkedToken(token: string, source: string): string {
  if (token.length < MIN_JOIN_TOKEN_CHARS) {
    throw new ConfigError(`the join token from ${source} has ${token.length} characters; a join token needs at least ${MIN_JOIN_TOKEN_CHARS}`);
  }
  return token;
}
