import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  readonly dev?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
  readonly [field: string]: unknown;
}

/**
 * The package.json and package-lock.json of a throwaway project depending on `tarball` only,
 * such that `npm ci --offline` installs it from the npm cache that installing `repo` filled.
 *
 * A plain `npm install <tarball>` must look up every dependency's version range in registry
 * metadata, which `npm ci` never caches (it fetches the lockfile's tarballs only), so offline it
 * fails. This lockfile pins the package's dependencies to the very versions the repo's lockfile
 * holds, at the same places, with the tarball itself as a `file:` dependency: npm extracts the
 * tarball, links its bin and installs its dependency tree as it would for a user. Left out:
 * dev-only packages, and the ones the repo's own install could not place (tfjs-node-gpu, an
 * optional dependency whose install script downloads libtensorflow, is then absent); platform
 * packages for other systems stay, npm skips them by their os/cpu fields without fetching them.
 */
export function installFromRepoLock(repo: string, tarball: string): { packageJson: object; lock: object } {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
    bin: Record<string, string>;
    engines: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = { '': { name: 'starling-api-consumer', dependencies: { [pkg.name]: spec } } };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path === '' || entry.dev) continue;
    if (existsSync(join(repo, path)) || entry.os || entry.cpu) packages[path] = entry;
  }
  packages[`node_modules/${pkg.name}`] = {
    version: pkg.version,
    resolved: spec,
    hasInstallScript: true,
    license: pkg.license,
    dependencies: pkg.dependencies,
    bin: Object.fromEntries(Object.entries(pkg.bin).map(([name, path]) => [name, path.replace(/^\.\//, '')])),
    engines: pkg.engines,
  };
  return {
    packageJson: { name: 'starling-api-consumer', private: true, type: 'module', dependencies: { [pkg.name]: spec } },
    lock: { name: 'starling-api-consumer', lockfileVersion: 3, requires: true, packages },
  };
}
