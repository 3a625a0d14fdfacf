import { expect } from 'vitest';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { paramShapes, unflatten } from '../../../shared/weights.ts';

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
