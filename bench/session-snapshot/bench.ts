/**
 * 7. Mayor session snapshots (issue 12): what saving and restoring a conversation costs at 10,
 * 100 and 1,000 turns. The codec (encode: redact + size policy + gzip + SHA-256; decode: verify +
 * gunzip + parse + validate) in Node, and the real `opencode import` of the restored file in a
 * fresh agent home. Alone: `npx tsx bench/session-snapshot/bench.ts` (needs `npm run build` once,
 * for the plugin bundle the runtime config names).
 */
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import { median, round, summarize } from '../lib/stats';
import type { Cell } from '../lib/table';
import { syntheticConversation } from '../../packages/container/test/session/fixtures/conversation';
import { measureCodec } from './codec';
import { measureImport } from './import';

const TURNS = [10, 100, 1_000];
const CODEC_ROUNDS = 7;
const IMPORT_ROUNDS = 3;
const TOOL_OUTPUT_BYTES = 400;

const kib = (bytes: number) => round(bytes / 1024, 1);

export const benchmark: Benchmark = {
  id: 'session-snapshot',
  title: '7. Mayor session snapshots: encode, decode and `opencode import` at 10, 100 and 1,000 turns',
  command: 'npx tsx bench/session-snapshot/bench.ts',
  async run(): Promise<BenchBody> {
    const conversations = new Map(TURNS.map((turns) => [turns, syntheticConversation(turns, { toolOutputBytes: TOOL_OUTPUT_BYTES })]));
    const codec = await measureCodec(conversations, CODEC_ROUNDS);
    const imports = await measureImport(codec.snapshots, IMPORT_ROUNDS);
    const versionP50 = median(imports.versionMs);

    const codecRows: Cell[][] = codec.samples.map((s) => [
      s.turns,
      s.messages,
      kib(s.rawBytes),
      kib(s.gzipBytes),
      `${(s.rawBytes / s.gzipBytes).toFixed(1)}×`,
      median(s.encodeMs),
      median(s.encodeNoRedactMs),
      median(s.decodeMs),
      Math.max(...s.encodeStallMs),
      Math.max(...s.decodeStallMs),
    ]);
    const importRows: Cell[][] = imports.samples.map((s) => {
      const summary = summarize(s.importMs);
      return [s.turns, kib(s.fileBytes), summary.p50, summary.min, summary.max, summary.p50 - versionP50, s.messagesAfterImport, s.importMs.length];
    });
    return {
      tables: [
        {
          title: `snapshot codec (ms, median of ${CODEC_ROUNDS} interleaved rounds after a warm-up)`,
          columns: [
            'turns',
            'messages',
            'raw KiB',
            'gzip KiB',
            'raw ÷ gzip',
            'encode p50',
            'encode p50, no redaction',
            'decode p50',
            'encode: longest loop stall',
            'decode: longest loop stall',
          ],
          rows: codecRows,
          notes: [
            `synthetic conversations in the captured opencode 1.18.33 shape: per turn a user message, an assistant message calling bash (a tool part with ~${TOOL_OUTPUT_BYTES} bytes of output, stored twice as opencode does: state.output and state.metadata.output) and the assistant's text reply`,
            "encode = encodeSnapshot: redaction of every string and key (redactString with two registered secrets and SECRET_PATTERNS, as the container passes it) + size policy + JSON + gzip (thread pool) + SHA-256; 'no redaction' = the same with an identity redactor",
            'decode = decodeSnapshot: size check + SHA-256 + gunzip bounded at maxRawBytes + JSON.parse + format/runtime + SessionSnapshotSchema',
            'longest loop stall = the longest gap between event-loop turns while one encode or decode ran (max over rounds): how long other work in the container waited',
          ],
        },
        {
          title: `\`opencode import\` of the restored file (ms, spawn → exit, fresh agent state dir each time, ${IMPORT_ROUNDS} rounds)`,
          columns: ['turns', 'import file KiB', 'import p50', 'min', 'max', 'p50 − `--version` p50', 'messages after import', 'n'],
          rows: importRows,
          notes: [
            `baseline: \`opencode --version\` in a fresh state dir (process start alone) p50 ${round(versionP50, 1)} ms over ${imports.versionMs.length} runs`,
            "each import: a new state dir (runtimePaths + prepareStateDir's seed files), the env and config the container gives the runtime (buildRuntimeEnv, buildRuntimeConfig with the bundled plugin), the file in the agent's TMPDIR, cwd = its workdir; no sandbox (the container runs it as the agent's uid when it has one)",
            'messages after import = `opencode export <id>` after the first import of each size (not timed): the runtime holds every message of the snapshot',
          ],
        },
      ],
      data: {
        turns: TURNS,
        codecRounds: CODEC_ROUNDS,
        importRounds: IMPORT_ROUNDS,
        toolOutputBytes: TOOL_OUTPUT_BYTES,
        codec: codec.samples.map((s) => ({
          ...s,
          encodeMs: s.encodeMs.map((v) => round(v)),
          encodeNoRedactMs: s.encodeNoRedactMs.map((v) => round(v)),
          decodeMs: s.decodeMs.map((v) => round(v)),
          encodeStallMs: s.encodeStallMs.map((v) => round(v)),
          decodeStallMs: s.decodeStallMs.map((v) => round(v)),
        })),
        import: {
          binary: imports.binary.replace(/^.*node_modules\//, 'node_modules/'),
          versionMs: imports.versionMs.map((v) => round(v)),
          samples: imports.samples.map((s) => ({ ...s, importMs: s.importMs.map((v) => round(v)) })),
        },
      },
      method: [
        'MEASURED: encodeSnapshot / decodeSnapshot (packages/container/src/session) in this Node process, on conversations built by packages/container/test/session/fixtures/conversation.ts from a real opencode 1.18.33 export',
        "MEASURED: the repo's opencode-ai 1.18.33 binary running `import <file>` on the file the container writes (toImportFile of the decoded snapshot), one process per import, sizes in rotating order per round",
        'not measured here: the upload/download to the control plane (R2 through the worker) and the `serve` start that follows an import (section 6)',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
