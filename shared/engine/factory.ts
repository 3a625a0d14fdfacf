import { probeBackend } from '../backend.ts';
import { BackendError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { ModelSpec } from '../models/spec.ts';
import type { Engine } from './engine.ts';
import { SimdEngine, simdUnsupported } from './simd/simd-engine.ts';
import type { TfjsEngine } from './tfjs-engine.ts';

export const ENGINE_CHOICES = ['auto', 'simd', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

export interface EngineDecision {
  readonly engine: 'simd' | 'tfjs';
  readonly reason: string;
}

/**
 * Which engine trains `spec`: `simd` when its kernels cover the spec and no GPU
 * backend is present (or a tfjs backend was forced), `tfjs` otherwise. A forced
 * `simd` that cannot run the spec is an error, never a silent fallback.
 */
export function decideEngine(spec: ModelSpec, choice: EngineChoice = 'auto', backend?: string): EngineDecision {
  const unsupported = simdUnsupported(spec);
  if (choice === 'simd') {
    if (unsupported) throw new BackendError(`--engine simd cannot run this model: ${unsupported}`);
    return { engine: 'simd', reason: 'forced with --engine simd' };
  }
  if (choice === 'tfjs') return { engine: 'tfjs', reason: 'forced with --engine tfjs' };
  if (backend) return { engine: 'tfjs', reason: `--backend ${backend} selects a tfjs backend` };
  if (probeBackend('tfjs-node-gpu').usable) return { engine: 'tfjs', reason: 'a GPU backend (tfjs-node-gpu) is present' };
  if (unsupported) return { engine: 'tfjs', reason: unsupported };
  return { engine: 'simd', reason: "Starling's SIMD kernels cover this model and no GPU backend is present" };
}

export function isEngineChoice(s: string): s is EngineChoice {
  return (ENGINE_CHOICES as readonly string[]).includes(s);
}

/**
 * Hands out the engine for each model spec, creating each engine once per thread
 * (a client learns the spec from its first task, so the choice is made then).
 */
export class EngineFactory {
  private readonly choice: EngineChoice;
  private readonly backend: string | undefined;
  private readonly log: Logger;
  private simd: SimdEngine | undefined;
  private tfjs: Promise<TfjsEngine> | undefined;

  constructor(opts: { engine?: EngineChoice; backend?: string; log?: Logger } = {}) {
    this.choice = opts.engine ?? 'auto';
    this.backend = opts.backend;
    this.log = opts.log ?? silentLogger;
  }

  async forSpec(spec: ModelSpec): Promise<Engine & { backend: string }> {
    const d = decideEngine(spec, this.choice, this.backend);
    if (d.engine === 'simd') {
      if (!this.simd) {
        this.simd = SimdEngine.create();
        this.log.info({ engine: 'simd', reason: d.reason }, `engine: simd (${d.reason})`);
      }
      return this.simd;
    }
    if (!this.tfjs) {
      this.log.info({ engine: 'tfjs', reason: d.reason }, `engine: tfjs (${d.reason})`);
      // tfjs is loaded only by a thread that trains with it: a simd run's coordinator and workers never hold its ≈ 40 MB
      this.tfjs = import('./tfjs-engine.ts').then(({ TfjsEngine }) => TfjsEngine.create(this.backend, this.log));
    }
    return this.tfjs;
  }
}
