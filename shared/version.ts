import { existsSync, readFileSync } from 'node:fs';

/**
 * The package.json of this Starling: one folder above shared/ when the sources run (tsx,
 * vitest), two above it when the compiled library runs from dist/shared/.
 */
function packageJson(): { version: string } {
  const candidates = ['../package.json', '../../package.json'].map((path) => new URL(path, import.meta.url));
  const found = candidates.find((url) => existsSync(url));
  if (!found) throw new Error(`package.json not found beside ${new URL('..', import.meta.url).pathname}`);
  return JSON.parse(readFileSync(found, 'utf8')) as { version: string };
}

/**
 * This Starling's name and version, as the run store records which code ran a run. The name
 * is the product's, whatever the npm package is called: `starling --version` prints the rest.
 */
export const CODE_VERSION = `starling ${packageJson().version}`;
