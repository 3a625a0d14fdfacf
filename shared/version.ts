import { readFileSync } from 'node:fs';

/** This Starling's name and version (package.json), as the run store records which code ran a run. */
export const CODE_VERSION = `starling ${(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version}`;
