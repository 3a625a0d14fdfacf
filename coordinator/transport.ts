import type { FitConfig } from '../shared/protocol/fit-config.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { EvaluateResult, FitResult, SecAggResultMessage, SecAggTask } from '../shared/protocol/messages.ts';
import type { ClientInfo } from './strategies/strategy.ts';

/**
 * What the round loop needs from the network, and nothing more. The WebSocket
 * server implements it; an in-memory transport can too, so simulation and
 * deployment run the same loop.
 */
export interface FitRequest {
  readonly round: number;
  readonly modelVersion: number;
  readonly spec: ModelSpec;
  /** The global weights of `modelVersion`; sent only to clients that do not hold them yet. */
  readonly weights: Float32Array;
  /**
   * With frozen parameters (config.frozen): the trainable part of `weights`. The result's
   * delta then covers only these values, and a client holding an earlier version of this
   * run's model is sent only them (its frozen part cannot have changed).
   */
  readonly trainableWeights?: Float32Array;
  readonly config: FitConfig;
  readonly seed: number;
}

export interface EvaluateRequest {
  readonly round: number;
  /** The version of the model to score (the round's new global model). */
  readonly modelVersion: number;
  readonly spec: ModelSpec;
  /** The weights of `modelVersion`; sent only to clients that do not hold them yet. */
  readonly weights: Float32Array;
  /** With frozen parameters: the trainable part of `weights`, all a client holding an earlier version is sent. */
  readonly trainableWeights?: Float32Array;
  /** With trainableWeights: the frozen names, sent along so the client can place the values. */
  readonly frozen?: readonly string[];
}

/** One phase of a secure-aggregation round for one client; the maskedInput phase carries a fit request (the client trains, then masks). */
export type SecAggRequest =
  | { readonly phase: 'advertise' | 'shareKeys' | 'unmask'; readonly task: Exclude<SecAggTask, { phase: 'maskedInput' }> }
  | {
      readonly phase: 'maskedInput';
      readonly fit: FitRequest;
      readonly senders: readonly number[];
      readonly shares: Extract<SecAggTask, { phase: 'maskedInput' }>['shares'];
      /** Words the masked vector must have. */
      readonly dimension: number;
    };

/**
 * One client as the round loop sees it, the same {id, name} for as long as the client is in the
 * round: its connection may drop and come back (coordinator/client-peer.ts) without the loop
 * or the strategy noticing.
 */
export interface ClientHandle extends ClientInfo {
  /**
   * Sends a fit task and resolves with the client's validated result. Rejects when the client
   * reports it failed, breaks the protocol, or has not answered when `signal` aborts (the
   * deadline); a client whose connection is lost meanwhile is sent the task again if it
   * reconnects before then.
   */
  fit(req: FitRequest, signal: AbortSignal): Promise<FitResult>;
  /**
   * Sends an evaluate task and resolves with the client's validated result; rejects
   * like `fit`. A client has at most one task (fit or evaluate) outstanding.
   */
  evaluate(req: EvaluateRequest, signal: AbortSignal): Promise<EvaluateResult>;
  /**
   * Sends one secure-aggregation phase and resolves with the client's shape-checked answer to it;
   * rejects like `fit`, except that a lost connection fails the phase at once (a new session
   * cannot take over the client's part in the round).
   */
  secagg(req: SecAggRequest, signal: AbortSignal): Promise<SecAggResultMessage>;
}

export interface Traffic {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface Transport {
  /** Clients with a session that completed the handshake and is still connected. */
  connected(): ClientHandle[];
  /** Resolves once at least `n` clients are connected; rejects after `timeoutMs`, or as soon as `signal` aborts (its reason). */
  waitForClients(n: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Cumulative bytes received and sent on all connections. */
  traffic(): Traffic;
  /** Tells every client the run is over and closes their connections. */
  finish(reason: string, rounds: number): Promise<void>;
}

/** A transport a coordinator serves its run over: the WebSocket server, or a simulation's in-memory transport. */
export interface ServedTransport extends Transport {
  /** Where clients reach it (ws://host:port/, or memory: for the in-memory transport). */
  readonly url: string;
  /** The TCP port listened on; 0 for a transport without one. */
  readonly port: number;
  /** Stops serving: connections close, tasks still waiting for a client fail. */
  close(): Promise<void>;
}
