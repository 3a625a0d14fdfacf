import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { instantiateOnMemory } from '../../../shared/engine/simd/kernels.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';

await TfjsEngine.create('wasm');
await import('@tensorflow/tfjs'); // gradients

/** Runs `f` on the wasm backend (with Starling's kernels) and on the cpu backend; returns both results. */
async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const r = f();
    out.push((Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array));
  }
  await tf.setBackend('wasm');
  return [out[0]!, out[1]!];
}

function expectClose(a: Float32Array[], b: Float32Array[], rel = 1e-5) {
  a.forEach((x, t) => {
    let diff = 0;
    let scale = 1e-6;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - b[t]![i]!));
      scale = Math.max(scale, Math.abs(b[t]![i]!));
    }
    expect(diff / scale, `tensor ${t}`).toBeLessThanOrEqual(rel);
  });
}

describe("Starling's SIMD kernels inside tfjs-backend-wasm", () => {
  it('matMul with every transpose combination, batch broadcasting, and fused bias + relu match the cpu backend', async () => {
    const a = tf.randomNormal([3, 7, 5], 0, 1, 'float32', 1);
    const b = tf.randomNormal([3, 5, 9], 0, 1, 'float32', 2);
    const b1 = tf.randomNormal([1, 9, 5], 0, 1, 'float32', 3);
    const bias = tf.randomNormal([9], 0, 1, 'float32', 4);
    expectClose(
      ...(await both(() => [
        tf.matMul(a, b),
        tf.matMul(tf.transpose(a, [0, 2, 1]), b, true, false),
        tf.matMul(a, tf.transpose(b, [0, 2, 1]), false, true),
        tf.matMul(tf.transpose(a, [0, 2, 1]), tf.transpose(b, [0, 2, 1]), true, true),
        tf.matMul(a, b1, false, true),
        tf.matMul(tf.reshape(a, [21, 5]), tf.reshape(b1, [9, 5]), false, true),
        tf.fused.matMul({ a: tf.reshape(a, [21, 5]), b: tf.reshape(b1, [9, 5]), transposeB: true, bias, activation: 'relu' }),
      ])),
    );
  });

  it('conv2d gradients (filter, which tfjs-wasm lacks, and input) match the cpu backend', async () => {
    for (const [shape, filter, pad] of [
      [[2, 6, 6, 3], [3, 3, 3, 4], 'same'],
      [[3, 5, 7, 2], [3, 3, 2, 5], 'valid'],
      [[1, 8, 8, 1], [5, 5, 1, 2], 'same'],
    ] as const) {
      const x = tf.randomUniform(shape as unknown as number[], -1, 1, 'float32', 5);
      const f = tf.randomUniform(filter as unknown as number[], -1, 1, 'float32', 6);
      expectClose(
        ...(await both(() => tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, pad))))([x, f]))),
        1e-4,
      );
    }
  });

  it('max-pooling gradients are right on negative activations (tfjs-wasm 4.22 routes them wrongly)', async () => {
    const x = tf.randomUniform([2, 6, 6, 5], -1, -0.1, 'float32', 7);
    const w = tf.randomUniform([2, 3, 3, 5], 0.5, 1, 'float32', 8);
    expectClose(...(await both(() => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid'), w)))(x))), 0);
  });

  it('refuses to instantiate a module with a data section on tfjs memory', () => {
    // a minimal module: import env.memory, one data segment writing "x" at address 0
    const bytes = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
      0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x78,
    ]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(() => instantiateOnMemory(bytes, memory, 'probe.wasm')).toThrow(/probe.wasm has a data section/);
    expect(new Uint8Array(memory.buffer)[0]).toBe(0);
  });
});
