/**
 * What the secure channel costs : sealing + opening a 1.6 MB and a 6.6 MB
 * delta (the MLP's and the FedAvg CNN's) with the chosen AEAD (node:crypto
 * ChaCha20-Poly1305) beside tweetnacl's secretbox, Ed25519 sign/verify in both, and one
 * whole handshake. Medians of repeated runs on one core.
 *
 *   npx tsx bench/crypto-bench.ts
 */
import nacl from 'tweetnacl';
import { ClientHandshake, ServerHandshake } from '../shared/crypto/handshake.ts';
import { toBase64 } from '../shared/crypto/identity-file.ts';
import { generateIdentity, randomSecret, signDetached, verifyDetached } from '../shared/crypto/primitives.ts';
import { SessionSealer } from '../shared/crypto/session-sealer.ts';
import { median } from './stats.ts';

function time(runs: number, f: () => void): number {
  f(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    xs.push((performance.now() - t) / 1000);
  }
  return median(xs);
}

export function cryptoBench() {
  const key = randomSecret();
  // 1.6 MB: a 2-client core round's wire bytes; 6.6 MB: one FedAvg-CNN delta (1,663,370 floats)
  const sizes = { '1.6 MB': 1_628_916, '6.6 MB (a FedAvg CNN delta)': 1_663_370 * 4 };
  const bulk = Object.entries(sizes).map(([what, bytes]) => {
    const plain = randomSecret(bytes);
    const a = new SessionSealer(key, key);
    const b = new SessionSealer(key, key);
    const chacha = time(15, () => {
      if (!b.open(a.seal(plain))) throw new Error('open failed');
    });
    const nonce = randomSecret(24);
    const secretbox = time(5, () => {
      if (!nacl.secretbox.open(nacl.secretbox(plain, nonce, key), nonce, key)) throw new Error('open failed');
    });
    return {
      what,
      bytes,
      'chacha20-poly1305 (node:crypto) seal+open seconds': chacha,
      'chacha20-poly1305 GB/s (seal+open)': (2 * bytes) / chacha / 1e9,
      'tweetnacl secretbox seal+open seconds': secretbox,
      'tweetnacl secretbox GB/s (seal+open)': (2 * bytes) / secretbox / 1e9,
    };
  });
  const id = generateIdentity();
  const msg = randomSecret(32);
  const sig = signDetached(msg, id.seed);
  const naclKey = nacl.sign.keyPair.fromSeed(id.seed);
  const signatures = {
    'node:crypto Ed25519 sign ms': time(200, () => signDetached(msg, id.seed)) * 1000,
    'node:crypto Ed25519 verify ms': time(200, () => verifyDetached(msg, sig, id.publicKey)) * 1000,
    'tweetnacl Ed25519 sign ms': time(10, () => nacl.sign.detached(msg, naclKey.secretKey)) * 1000,
    'tweetnacl Ed25519 verify ms': time(10, () => nacl.sign.detached.verify(msg, sig, id.publicKey)) * 1000,
  };
  const server = generateIdentity();
  const client = generateIdentity();
  const allowlist = new Map([[toBase64(client.publicKey), 'c']]);
  const handshakeMs =
    time(100, () => {
      const s = new ServerHandshake(server, { allowlist });
      const c = new ClientHandshake(client, server.publicKey);
      s.onClientAuth(c.onServerHello(s.onClientHello(c.start())).auth);
    }) * 1000;
  return { bench: 'crypto', bulk, signatures, 'whole handshake, both sides, ms': handshakeMs };
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${JSON.stringify(cryptoBench(), null, 2)}\n`);
