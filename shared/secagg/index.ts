/** Secure aggregation's pure core (issue 7): Shamir sharing, the mask PRG, fixed-point encoding, masking and the round's state machines. */
export * from './fixed-point.ts';
export * from './masking.ts';
export * from './prg.ts';
export * from './protocol.ts';
export * from './shamir.ts';
export * from './weighting.ts';
