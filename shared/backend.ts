import { createRequire } from 'node:module';
import { BackendError, errorMessage } from './errors.ts';
import { silentLogger, type Logger } from './log.ts';

/**
 * tfjs backend selection. Preference order: CUDA (tfjs-node-gpu), native
 * libtensorflow (tfjs-node), WebAssembly with SIMD (tfjs-backend-wasm), plain JS (cpu).
 * The native packages are optional: their install downloads libtensorflow, which
 * fails on machines without internet access, and npm then drops them.
 */
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendProbe {
  readonly name: BackendName;
  readonly usable: boolean;
  /** Why it is or is not usable, in words. */
  readonly reason: string;
}

const require = createRequire(import.meta.url);

/** The tfjs backend id each package registers. */
const TFJS_ID: Record<BackendName, string> = { 'tfjs-node-gpu': 'tensorflow', 'tfjs-node': 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

export function isBackendName(s: string): s is BackendName {
  return (BACKENDS as readonly string[]).includes(s);
}

const probes = new Map<BackendName, BackendProbe>();

/** Tries to load one backend's package (once per process: the answer cannot change); never throws. */
export function probeBackend(name: BackendName): BackendProbe {
  let probe = probes.get(name);
  if (!probe) {
    probe = probeUncached(name);
    probes.set(name, probe);
  }
  return probe;
}

function probeUncached(name: BackendName): BackendProbe {
  const pkg = name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : name === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : `@tensorflow/${name}`;
  try {
    require.resolve(pkg);
  } catch {
    const why =
      name === 'tfjs-node-gpu' || name === 'tfjs-node'
        ? `${pkg} is not installed (its install downloads libtensorflow; install it on a machine with internet access${name === 'tfjs-node-gpu' ? ' and CUDA' : ''})`
        : `${pkg} is not installed`;
    return { name, usable: false, reason: why };
  }
  try {
    require(pkg);
  } catch (err) {
    return { name, usable: false, reason: `${pkg} is installed but failed to load: ${firstLine(errorMessage(err))}` };
  }
  const reason =
    name === 'wasm'
      ? 'WebAssembly backend loaded (SIMD; one thread per worker in Node)'
      : name === 'cpu'
        ? 'plain JavaScript backend (slowest; always available)'
        : `${pkg} loaded its native libtensorflow binding`;
  return { name, usable: true, reason };
}

export function probeAll(): BackendProbe[] {
  return BACKENDS.map(probeBackend);
}

let active: BackendName | undefined;

/**
 * Activates a backend: the forced one, or the first usable in preference order.
 * A forced backend that is not usable is an error, never a silent fallback.
 */
export async function selectBackend(forced?: string, log: Logger = silentLogger): Promise<BackendName> {
  if (forced !== undefined && !isBackendName(forced)) {
    throw new BackendError(`unknown backend "${forced}" (choose one of ${BACKENDS.join(', ')})`);
  }
  if (active && (forced === undefined || forced === active)) return active;
  const candidates = forced ? [forced] : [...BACKENDS];
  const tried: string[] = [];
  // loaded here, not on import: a thread that never trains with tfjs (a simd run's coordinator and workers) never holds it
  const tf = await import('@tensorflow/tfjs-core');
  for (const name of candidates) {
    const probe = probeBackend(name);
    if (!probe.usable) {
      tried.push(`${name}: ${probe.reason}`);
      continue;
    }
    tf.enableProdMode(); // skips per-op NaN checks and the cpu backend's console banner
    const ok = await withoutProcessHandlers(() => tf.setBackend(TFJS_ID[name]));
    if (!ok) {
      tried.push(`${name}: tf.setBackend('${TFJS_ID[name]}') failed`);
      continue;
    }
    await tf.ready();
    active = name;
    log.info({ backend: name, reason: probe.reason, tried }, `tfjs backend: ${name}`);
    return name;
  }
  throw new BackendError(forced ? `backend "${forced}" is not available: ${tried.join('; ')}` : `no tfjs backend is usable: ${tried.join('; ')}`);
}

/**
 * The wasm backend's Emscripten runtime installs process-wide 'uncaughtException' and
 * 'unhandledRejection' handlers that rethrow, which makes Node print a minified source
 * line of several hundred kilobytes with any crash. Starling reports its own errors, so
 * handlers a backend adds while initialising are removed again.
 */
async function withoutProcessHandlers<T>(run: () => Promise<T>): Promise<T> {
  const uncaught = new Set(process.listeners('uncaughtException'));
  const rejections = new Set(process.listeners('unhandledRejection'));
  try {
    return await run();
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!uncaught.has(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!rejections.has(l)) process.removeListener('unhandledRejection', l);
  }
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}
