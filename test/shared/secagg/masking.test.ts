import { describe, expect, it } from 'vitest';
import { maskInput, neighbourhoods, neighboursOf, roundSalt } from '../../../shared/secagg/masking.ts';
import { seededRandom } from './harness.ts';

const salt = roundSalt({ runId: 'graph-run', round: 1 });
const roster = [...Array(30).keys()].map((i) => i + 1);

describe('SecAgg+ neighbour graph', () => {
  it('is symmetric, k-regular on a seeded ring, and the same for everyone who computes it', () => {
    const seed = seededRandom('ring')(32);
    const graph = neighbourhoods(roster, salt, { degree: 6, seed });
    for (const [u, ns] of graph) {
      expect(ns).toHaveLength(6);
      expect(ns).not.toContain(u);
      for (const v of ns) expect(graph.get(v)).toContain(u);
    }
    expect(neighbourhoods([...roster].reverse(), salt, { degree: 6, seed })).toEqual(graph);
    const other = neighbourhoods(roster, salt, { degree: 6, seed: seededRandom('another ring')(32) });
    expect(other).not.toEqual(graph);
    // not simply index order: a seeded permutation
    expect(graph.get(1)).not.toEqual([2, 3, 4, 28, 29, 30]);
  });

  it('one client’s neighbours, computed alone, are its entry in the whole graph', () => {
    const seed = seededRandom('ring alone')(32);
    const shuffled = [...roster].reverse();
    for (const graph of [undefined, { degree: 6, seed }, { degree: 30, seed }]) {
      const all = neighbourhoods(roster, salt, graph);
      for (const u of roster) expect(neighboursOf(u, shuffled, salt, graph)).toEqual(all.get(u));
    }
    expect(neighboursOf(99, roster, salt, { degree: 6, seed })).toEqual([]);
  });

  it('is the complete graph without SecAgg+ or when the degree reaches n − 1', () => {
    const full = neighbourhoods([1, 2, 3, 4], salt);
    expect(full.get(3)).toEqual([1, 2, 4]);
    expect(neighbourhoods([1, 2, 3, 4], salt, { degree: 4, seed: new Uint8Array(32) })).toEqual(full);
  });

  it('pairwise masks cancel in the sum of the masked inputs (self-masks aside)', () => {
    const m = 64;
    const pair = seededRandom('pair');
    const s12 = pair(32);
    const s13 = pair(32);
    const s23 = pair(32);
    const zero = new Uint8Array(32);
    const x = (u: number) => new Uint32Array(m).fill(u);
    const y1 = maskInput(
      1,
      x(1),
      zero,
      new Map([
        [2, s12],
        [3, s13],
      ]),
      salt,
    );
    const y2 = maskInput(
      2,
      x(2),
      zero,
      new Map([
        [1, s12],
        [3, s23],
      ]),
      salt,
    );
    const y3 = maskInput(
      3,
      x(3),
      zero,
      new Map([
        [1, s13],
        [2, s23],
      ]),
      salt,
    );
    const self = maskInput(1, new Uint32Array(m), zero, new Map(), salt);
    for (let i = 0; i < m; i++) expect((y1[i]! + y2[i]! + y3[i]! - 3 * self[i]!) >>> 0).toBe(6);
    expect([...y1].filter((v, i) => v === (1 + self[i]!) >>> 0)).toHaveLength(0);
  });
});
