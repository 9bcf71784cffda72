/**
 * @elephant/simulator — a deterministic traffic simulator of customers across every channel:
 * raw messages in each channel's own format (Segment, SendGrid webhook batches, Elephant's
 * JSON for ads, POS, support, CRM, loyalty and content), with the ground truth beside them
 * (which touchpoint belongs to which person, and the counters each person's profile must
 * show). Pure: no I/O; the caller writes the lines. See docs/simulator.md.
 */
export { counterEventOf, simulate, SIMULATED_EVENT_TYPES, type CounterFacts, type Household, type MalformedRecord, type SimRecord, type Simulation, type SimulationStats } from './simulate.ts';
export { DEFAULT_START, resolveOptions, type ResolvedOptions, type SimulationOptions } from './options.ts';
export { computeCounters, type CounterEvent, type PersonCounters, type PersonExpectation } from './expectations.ts';
export { EVENT_TAGS, type CommerceFacts, type EventFacts, type EventTag } from './model.ts';
export { ACQUISITION_PATHS, type AcquisitionPath } from './people.ts';
export { expectationLines, paced, parseExpectations, parseTruth, parseTruthLines, toNdjson, truthLineOf, truthLines, type PaceOptions, type TruthLine } from './output.ts';
export { SIMULATOR_ERROR_CODES, SimulatorError, type SimulatorErrorCode } from './errors.ts';
