import { z } from 'zod';
import type { Trainer } from '../client/trainer.ts';
import { ConfigError } from '../shared/errors.ts';
import { deriveSeed, mulberry32, normal } from '../shared/rng.ts';

/**
 * Byzantine clients for robustness experiments: an attacker trains honestly, then
 * replaces its delta before sending it.
 *  - `sign-flip[:scale=s]` sends −s·Δ (default s = 1)
 *  - `scale[:factor=s]`    sends s·Δ (default s = 10)
 *  - `gaussian[:sigma=σ]`  sends pure noise N(0, σ²) per coordinate (default σ = 1), seeded
 */
const attackSchemas = {
  'sign-flip': z.strictObject({ scale: z.number().positive().default(1) }),
  scale: z.strictObject({ factor: z.number().default(10) }),
  gaussian: z.strictObject({ sigma: z.number().positive().default(1) }),
} as const;
export type AttackName = keyof typeof attackSchemas;
export const ATTACK_NAMES = Object.keys(attackSchemas) as AttackName[];

export interface Attack {
  readonly name: AttackName;
  readonly params: Record<string, number>;
}

/** Parses `name[:key=value,...]`; a bad name or parameter is a ConfigError. */
export function parseAttack(text: string): Attack {
  const [name, rest] = text.trim().split(/:(.*)/s, 2) as [string, string | undefined];
  if (!(name in attackSchemas)) throw new ConfigError(`unknown attack "${name}" (available: ${ATTACK_NAMES.join(', ')})`);
  const raw: Record<string, number> = {};
  for (const part of rest ? rest.split(',') : []) {
    const m = /^\s*(\w+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m || !Number.isFinite(Number(m[2]))) throw new ConfigError(`attack "${text}": "${part}" is not key=number`);
    raw[m[1]!] = Number(m[2]);
  }
  const parsed = attackSchemas[name as AttackName].safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(`attack ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'parameters'}: ${i.message}`).join('; ')}`);
  return { name: name as AttackName, params: parsed.data as Record<string, number> };
}

/** Wraps an honest trainer so that it sends the attack's delta instead. */
export function attacker(honest: Trainer, attack: Attack, index: number): Trainer {
  return {
    evaluate: (spec, weights) => honest.evaluate(spec, weights),
    async fit(spec, weights, config, seed) {
      const r = await honest.fit(spec, weights, config, seed);
      const d = r.delta;
      const out = new Float32Array(d.length);
      if (attack.name === 'sign-flip') for (let i = 0; i < d.length; i++) out[i] = -attack.params.scale! * d[i]!;
      else if (attack.name === 'scale') for (let i = 0; i < d.length; i++) out[i] = attack.params.factor! * d[i]!;
      else {
        const rng = mulberry32(deriveSeed(seed, index, 0x4a7));
        for (let i = 0; i < d.length; i++) out[i] = attack.params.sigma! * normal(rng);
      }
      return { ...r, delta: out };
    },
  };
}
