import { CheckpointError } from '../../../shared/errors.ts';
import { type AccountantSnapshot, RdpAccountant, type DpSpec } from '../../../shared/privacy/index.ts';
import type { ClientInfo } from '../strategy.ts';

/** The privacy a run has spent so far, as the round records report it. */
export interface PrivacyReport {
  /** ε at `delta` for any one client, with amplification by sampling: valid when the sample is secret. */
  readonly epsilon: number;
  readonly delta: number;
  /** The clip norm the next round uses (it moves under adaptive clipping). */
  readonly clip: number;
  /** The sampling rate the last round was charged at: its sample size over the clients available to it (1 for local DP). */
  readonly samplingRate: number;
  /** Whether the sample was drawn from a secret source (a CSPRNG keyed from the OS) or a stream anyone with the config can replay. */
  readonly samplingSecret: boolean;
  /**
   * With a replayable sample: the largest ε of any client charged without amplification, for
   * each round its update was in (what a reader who knows the sample can claim).
   */
  readonly epsilonUnamplifiedMax?: number;
  /** Local DP: ε when neighbours are any two updates of one client (sensitivity 2S); `epsilon` is for an update against none (sensitivity S). */
  readonly epsilonReplaceOne?: number;
}

/** One client's privacy without amplification: the rounds its update was in, and ε charged for each at q = 1. */
export interface ClientPrivacy {
  readonly rounds: number;
  readonly epsilon: number;
}

/** What the round loop and the coordinator read of a run's privacy: the DP release's own object, not part of any strategy. */
export interface PrivacyLedger {
  /** The (ε, δ) spent so far and what a reader needs to check it. */
  report(): PrivacyReport;
  /** With a replayable sample: each client's unamplified privacy, by name (sorted); undefined when the sample is secret (naming who trained would undo the secret). */
  byClient(): Record<string, ClientPrivacy> | undefined;
}

/** What a ledger has counted, as a checkpoint keeps it. */
export interface LedgerState {
  readonly accountant: AccountantSnapshot;
  readonly replaceOne?: AccountantSnapshot;
  readonly lastRate: number;
  /** With a replayable sample: the rounds each client's update was in, by name. */
  readonly joined?: readonly (readonly [string, number])[];
}

/** A ledger the DP release charges, and a checkpoint saves and restores. */
export interface ChargedLedger extends PrivacyLedger {
  /** Charges a round at `rate`; `included`: the clients whose updates it released. */
  charge(rate: number, included: readonly { readonly client: ClientInfo }[]): void;
  snapshot(): LedgerState;
  restore(state: LedgerState): void;
}

export interface LedgerOptions {
  readonly spec: DpSpec;
  readonly delta: number;
  readonly samplingSecret: boolean;
  /** The rate reported before any round is charged. */
  readonly rate: number;
  /** The clip norm the next round uses. */
  readonly clip: () => number;
}

/**
 * An RDP accountant over a run's releases: each charge is one sampled Gaussian mechanism at
 * the rate given and the spec's noise multiplier. Local DP also accounts any two updates of
 * one client as neighbours (sensitivity 2S: noise z/2 at sensitivity S); a replayable central
 * sample also counts the rounds each client's update was in, to report its unamplified ε.
 */
export function privacyLedger(options: LedgerOptions): ChargedLedger {
  const { spec } = options;
  const accountant = new RdpAccountant();
  const replaceOne = spec.mode === 'local' ? new RdpAccountant() : undefined;
  let lastRate = options.rate;
  /** With a replayable sample: the rounds each client's update was in. */
  const joined = spec.mode === 'central' && !options.samplingSecret ? new Map<string, number>() : undefined;
  const unamplified = new Map<number, number>();
  const epsilonOf = (a: RdpAccountant) => (a.steps === 0 ? 0 : a.epsilon(options.delta).epsilon);
  /** ε of `rounds` unamplified rounds (the Gaussian mechanism at q = 1), cached by count. */
  const unamplifiedEpsilon = (rounds: number): number => {
    let e = unamplified.get(rounds);
    if (e === undefined) {
      const a = new RdpAccountant();
      a.step(1, spec.noiseMultiplier, rounds);
      e = epsilonOf(a);
      unamplified.set(rounds, e);
    }
    return e;
  };
  return {
    charge(rate, included) {
      lastRate = rate;
      accountant.step(rate, spec.noiseMultiplier);
      replaceOne?.step(1, spec.noiseMultiplier / 2);
      if (joined) for (const r of included) joined.set(r.client.name, (joined.get(r.client.name) ?? 0) + 1);
    },
    snapshot: () => ({
      accountant: accountant.snapshot(),
      ...(replaceOne ? { replaceOne: replaceOne.snapshot() } : {}),
      lastRate,
      ...(joined ? { joined: [...joined] } : {}),
    }),
    restore(state) {
      if ((state.replaceOne !== undefined) !== (replaceOne !== undefined) || (state.joined !== undefined) !== (joined !== undefined))
        throw new CheckpointError(`the checkpoint's privacy account is not one of ${spec.mode} DP with this run's client sampling`);
      accountant.restore(state.accountant);
      if (replaceOne && state.replaceOne) replaceOne.restore(state.replaceOne);
      lastRate = state.lastRate;
      if (joined && state.joined) {
        joined.clear();
        for (const [name, rounds] of state.joined) joined.set(name, rounds);
      }
    },
    report: () => ({
      epsilon: epsilonOf(accountant),
      delta: options.delta,
      clip: options.clip(),
      samplingRate: lastRate,
      samplingSecret: spec.mode === 'local' || options.samplingSecret,
      ...(joined ? { epsilonUnamplifiedMax: unamplifiedEpsilon(Math.max(0, ...joined.values())) } : {}),
      ...(replaceOne ? { epsilonReplaceOne: epsilonOf(replaceOne) } : {}),
    }),
    byClient: () =>
      joined
        ? Object.fromEntries([...joined].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rounds]) => [name, { rounds, epsilon: unamplifiedEpsilon(rounds) }]))
        : undefined,
  };
}
