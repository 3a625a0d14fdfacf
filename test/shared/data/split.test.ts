import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitRows } from '../../../shared/data/split.ts';

const labels = Uint8Array.from({ length: 1000 }, (_, i) => ((i * 7) % 10 < 7 ? 0 : (i * 7) % 10 < 9 ? 1 : 2)); // 70 % / 20 % / 10 %
const count = (rows: Uint32Array, k: number) => [...rows].filter((i) => labels[i] === k).length;

describe('train/validation/test split', () => {
  it('stratified: every split keeps the class proportions exactly; the same seed, the same split', () => {
    const s = splitRows(labels, 3, { validation: 0.1, test: 0.2, stratified: true, seed: 5 });
    expect([count(s.validation, 0), count(s.validation, 1), count(s.validation, 2)]).toEqual([70, 20, 10]);
    expect([count(s.test, 0), count(s.test, 1), count(s.test, 2)]).toEqual([140, 40, 20]);
    expect(s.train.length).toBe(700);
    const again = splitRows(labels, 3, { validation: 0.1, test: 0.2, stratified: true, seed: 5 });
    const other = splitRows(labels, 3, { validation: 0.1, test: 0.2, stratified: true, seed: 6 });
    expect([...again.test]).toEqual([...s.test]);
    expect([...other.test]).not.toEqual([...s.test]);
  });

  it('any fractions: the three splits partition the rows, sorted, with the asked sizes', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.45, noNaN: true }),
        fc.double({ min: 0, max: 0.45, noNaN: true }),
        fc.boolean(),
        fc.integer(),
        (v, t, stratified, seed) => {
          const s = splitRows(labels, 3, { validation: v, test: t, stratified, seed });
          const all = [...s.train, ...s.validation, ...s.test].sort((a, b) => a - b);
          expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
          for (const part of [s.train, s.validation, s.test]) expect([...part]).toEqual([...part].sort((a, b) => a - b));
          if (!stratified) expect(s.validation.length).toBe(Math.round(v * 1000));
          expect(Math.abs(s.test.length - t * 1000)).toBeLessThanOrEqual(2);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses fractions that leave nothing to train on, and labels outside the classes', () => {
    expect(() => splitRows(labels, 3, { validation: 0.5, test: 0.5, stratified: false, seed: 1 })).toThrow(/must leave rows to train on/);
    expect(() => splitRows(labels, 3, { validation: -0.1, test: 0, stratified: false, seed: 1 })).toThrow(/validation fraction must be in \[0, 1\)/);
    expect(() => splitRows(labels, 2, { validation: 0.1, test: 0, stratified: true, seed: 1 })).toThrow(/label 2 of row \d+ is not a class index in 0..1/);
  });
});
