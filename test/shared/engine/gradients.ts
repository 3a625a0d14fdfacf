import { expect } from 'vitest';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { mulberry32 } from '../../../shared/rng.ts';
import { paramShapes } from '../../../shared/models/registry.ts';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { unflatten } from '../../../shared/weights.ts';

/** Asserts two deltas agree per parameter tensor: max |a − b| / max |b| ≤ `tolerance`. */
export function expectSameGradients(spec: ModelSpec, a: Float32Array, b: Float32Array, tolerance: number, label = ''): void {
  const shapes = paramShapes(spec);
  const pa = unflatten(a, shapes);
  const pb = unflatten(b, shapes);
  shapes.forEach((s, t) => {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < pa[t]!.length; i++) {
      diff = Math.max(diff, Math.abs(pa[t]![i]! - pb[t]![i]!));
      scale = Math.max(scale, Math.abs(pb[t]![i]!));
    }
    expect(diff / Math.max(scale, 1e-6), `${label} ${s.name}`).toBeLessThanOrEqual(tolerance);
  });
}

/**
 * Random inputs with no exact zeros (so max-pooling windows have no ties, whose
 * gradient routing differs even between tfjs backends) and random labels.
 */
export function randomDataset(rows: number, features: number, classes: number, seed: number): Dataset {
  const rng = mulberry32(seed);
  return {
    x: Float32Array.from({ length: rows * features }, () => 0.05 + rng()),
    y: Uint8Array.from({ length: rows }, () => Math.floor(rng() * classes)),
    size: rows,
    features,
    classes,
  };
}
