import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { expect } from 'vitest';
import { ClientConnection, type ConnectionOptions } from '../../coordinator/client-connection.ts';
import { ClientHandshake } from '../../shared/crypto/handshake.ts';
import { memoryLogger } from '../../shared/log.ts';
import { decodeMessage, encodeMessage, type Encodable } from '../../shared/protocol/codec.ts';
import { fromFrame, toFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, toClientSchema } from '../../shared/protocol/messages.ts';
import { toClientHandshakeSchema } from '../../shared/protocol/handshake-messages.ts';
import { testKeys } from '../e2e/helpers.ts';

/** A stand-in for a ws socket: records what the connection sends and how it closes. */
export class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CONNECTING = 0;
  readyState = 1;
  sent: Uint8Array[] = [];
  closedWith: number | undefined;
  /** ws's receiver, whose frame limit the connection sets before and after authentication. */
  _receiver = { _maxPayload: 0 };
  send(data: Uint8Array) {
    this.sent.push(Uint8Array.from(data));
  }
  close(code: number) {
    this.closedWith ??= code;
    this.readyState = 3;
  }
  terminate() {
    this.readyState = 3;
  }
}

export const keys = testKeys(1);

/** A coordinator-side connection over a fake socket, before the handshake. */
export function connection(over: Partial<ConnectionOptions> = {}) {
  const socket = new FakeSocket();
  const log = memoryLogger();
  const conn = new ClientConnection({
    id: 'c1',
    runId: 'r',
    socket: socket as unknown as WebSocket,
    security: keys.coordinator,
    maxPayloadBytes: 1 << 20,
    handshakeTimeoutMs: 60_000,
    log,
    onReady: () => {},
    onClosed: () => {},
    countIn: () => {},
    countOut: () => {},
    ...over,
  });
  return { socket, conn, log };
}

/** Completes the handshake against the connection; returns the client's sealer. */
export function authenticate(socket: FakeSocket) {
  const hs = new ClientHandshake(keys.ids[0]!, keys.coordinator.identity.publicKey);
  socket.emit('message', Buffer.from(encodeMessage(hs.start())), true);
  const reply = decodeMessage(socket.sent.at(-1)!, toClientHandshakeSchema, 1 << 20);
  if (reply.type !== 'serverHello') throw new Error('refused');
  const { auth, sealer } = hs.onServerHello(reply);
  socket.emit('message', Buffer.from(encodeMessage(auth)), true);
  return sealer;
}

/** A connection past the handshake and hello: `send` seals a message from the client, `received` opens what the coordinator sent after its welcome. */
export function readyConnection(over: Partial<ConnectionOptions> = {}) {
  const { socket, conn, log } = connection(over);
  const sealer = authenticate(socket);
  const send = (msg: unknown) => socket.emit('message', Buffer.from(toFrame(msg as Encodable, sealer)), true);
  send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'site' });
  expect(conn.ready).toBe(true);
  const received = () => socket.sent.slice(1).map((f) => fromFrame(f, toClientSchema, sealer, 1 << 20));
  return { socket, conn, log, send, received };
}
