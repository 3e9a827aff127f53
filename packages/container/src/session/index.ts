/** Durable runtime sessions (issue 12): the snapshot codec, its size policy and its redaction. */
export { encodeSnapshot, decodeSnapshot, toImportFile, countTurns } from './snapshot-codec';
export type { SessionExport, EncodeInput, EncodedSnapshot, DecodeExpectation } from './snapshot-codec';
export { compactionStart, dropForSize, lastTurnStart } from './snapshot-trim';
export { createTreeRedactor, redactJsonTree, type StringRedactor } from './snapshot-redact';
