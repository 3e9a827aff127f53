/**
 * Builds the image's file tree without Docker: each stage of packages/container/Dockerfile becomes a
 * directory, filled by the Dockerfile's own instructions — COPY from the build context (.dockerignore
 * applied), COPY --from another stage, and the RUN steps this repository's Dockerfile uses (`npm ci …`,
 * `npm run …`, `npm cache clean`, `mkdir`/`chmod`), run with the same arguments. `apt-get` lines are the
 * base image's system layer: their packages are only recorded (the boot check needs them on the host).
 * Any other RUN fails the stage: teach this file the new step rather than let the check go blind.
 *
 * npm runs offline (`--offline`: the test machine's npm cache, filled by the repository's own `npm ci`).
 * An `InstallCache` reuses the node_modules of an identical earlier install (same command, same
 * manifests), hard-linked — Docker's layer cache, so the negative checks stay cheap.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, sep } from 'node:path';
import { commandWords, copyOf, envEntries, parseDockerfile, type Instruction } from './dockerfile';
import { isIgnored, parseDockerignore } from './dockerignore';

export class ImageStageError extends Error {
  override readonly name = 'ImageStageError';
  constructor(
    /** Which part of the contract failed: stable, for tests to assert on. */
    readonly code: 'instruction_unsupported' | 'copy_missing' | 'run_failed' | 'stage_unknown',
    message: string,
  ) {
    super(message);
  }
}

export interface Stage {
  name: string;
  /** The stage's filesystem root on this machine: image path `/x` is `${root}/x`. */
  root: string;
  baseImage: string;
  workdir: string;
  env: Record<string, string>;
  exposed: string[];
  entrypoint: string[];
  cmd: string[];
  /** USER of the stage (`root` when none). */
  user: string;
  /** Packages named by `apt-get install` (provided by the base image's system layer). */
  systemPackages: string[];
  /** Absolute image directories created by RUN mkdir (mapped into `root` at boot). */
  createdDirs: string[];
}

export interface StagedImage {
  /** Every stage, in order; the last one is the image. */
  stages: Stage[];
  image: Stage;
  /** Seconds spent per step, for the report (`RUN npm ci … (stage build)`: 14.2). */
  timings: Array<{ step: string; seconds: number }>;
  dispose(): Promise<void>;
}

/** Earlier installs by key (command + manifests): the stage directory holding their node_modules. */
export type InstallCache = Map<string, string>;

export interface StageImageOptions {
  /** The build context (the repository root). */
  contextDir: string;
  /** The Dockerfile's text (a throwaway variant in the negative checks). */
  dockerfile: string;
  dockerignore: string;
  installCache?: InstallCache;
  /** Where stage directories go (default: the OS temp dir). */
  workDir?: string;
  log?: (line: string) => void;
}

const IMAGE_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function stageImage(options: StageImageOptions): Promise<StagedImage> {
  const instructions = parseDockerfile(options.dockerfile);
  const rules = parseDockerignore(options.dockerignore);
  const base = await mkdtemp(join(options.workDir ?? tmpdir(), 'gastown-image-'));
  // Agents run as pool uids (20000…): the image tree must be traversable by others, like Docker's.
  await chmod(base, 0o755);
  const stages: Stage[] = [];
  const timings: StagedImage['timings'] = [];
  const log = options.log ?? (() => undefined);
  let stage: Stage | null = null;

  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      timings.push({ step, seconds: Math.round((performance.now() - started) / 100) / 10 });
    }
  };

  try {
    for (const instruction of instructions) await apply(instruction);
  } catch (error) {
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  if (!stage) throw new ImageStageError('instruction_unsupported', 'the Dockerfile has no FROM');
  return { stages, image: stage, timings, dispose: () => rm(base, { recursive: true, force: true }) };

  async function apply(instruction: Instruction): Promise<void> {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/);
      const stageName = as?.toUpperCase() === 'AS' && name ? name : `stage${stages.length}`;
      const root = join(base, stageName);
      await mkdir(root, { recursive: true, mode: 0o755 });
      stage = {
        name: stageName,
        root,
        baseImage: image!,
        workdir: '/',
        env: {},
        exposed: [],
        entrypoint: [],
        cmd: [],
        user: 'root',
        systemPackages: [],
        createdDirs: [],
      };
      stages.push(stage);
      return;
    }
    if (!stage) throw new ImageStageError('instruction_unsupported', `Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
    const current: Stage = stage;
    switch (instruction.keyword) {
      case 'WORKDIR':
        current.workdir = posix.resolve(current.workdir, instruction.args);
        await mkdir(hostPath(current, current.workdir), { recursive: true, mode: 0o755 });
        break;
      case 'ENV':
        for (const [key, value] of envEntries(instruction.args)) current.env[key] = value;
        break;
      case 'EXPOSE':
        current.exposed.push(...commandWords(instruction.args).map((p) => p.replace(/\/tcp$/, '')));
        break;
      case 'ENTRYPOINT':
        current.entrypoint = commandWords(instruction.args);
        break;
      case 'CMD':
        current.cmd = commandWords(instruction.args);
        break;
      case 'USER':
        current.user = instruction.args.trim();
        break;
      case 'COPY':
        await copyInto(current, instruction, stages, options.contextDir, rules);
        break;
      case 'RUN':
        for (const step of instruction.args.split(/\s*&&\s*/)) {
          await runStep(current, step, instruction.line, { ...options, log, timed });
        }
        break;
      default:
        throw new ImageStageError('instruction_unsupported', `Dockerfile line ${instruction.line}: the image check does not emulate ${instruction.keyword}`);
    }
  }
}

/** Where image path `imagePath` (absolute) lives on this machine. */
export function hostPath(stage: Stage, imagePath: string): string {
  return join(stage.root, posix.resolve('/', imagePath));
}

async function copyInto(
  stage: Stage,
  instruction: Instruction,
  stages: Stage[],
  contextDir: string,
  rules: ReturnType<typeof parseDockerignore>,
): Promise<void> {
  const copy = copyOf(instruction);
  const from = copy.flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const other = copy.flags.filter((f) => !f.startsWith('--from='));
  if (other.length) throw new ImageStageError('instruction_unsupported', `Dockerfile line ${copy.line}: COPY ${other.join(' ')} is not emulated`);
  const source = from === undefined ? null : stages.find((s) => s.name === from);
  if (from !== undefined && !source) throw new ImageStageError('stage_unknown', `Dockerfile line ${copy.line}: COPY --from=${from}: no such stage`);
  const destImage = posix.resolve(stage.workdir, copy.dest);
  for (const src of copy.sources) {
    const srcPath = source ? hostPath(source, posix.resolve(source.workdir, src)) : join(contextDir, src);
    const info = await stat(srcPath).catch(() => null);
    if (!info || (!source && isIgnored(rules, src))) {
      throw new ImageStageError(
        'copy_missing',
        `Dockerfile line ${copy.line}: COPY ${from ? `--from=${from} ` : ''}${src}: not in the ${from ? `stage ${from}` : 'build context'}`,
      );
    }
    // Docker: a file into a directory destination (trailing `/` or several sources) keeps its name.
    const intoDir = info.isFile() && (copy.dest.endsWith('/') || copy.sources.length > 1);
    const target = hostPath(stage, intoDir ? posix.join(destImage, posix.basename(src)) : destImage);
    await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
    await cp(srcPath, target, {
      recursive: true,
      filter: source ? undefined : (path) => !isIgnored(rules, relative(contextDir, path).split(sep).join('/')),
    });
  }
}

interface RunContext extends StageImageOptions {
  log: (line: string) => void;
  timed: <T>(step: string, run: () => Promise<T>) => Promise<T>;
}

async function runStep(stage: Stage, step: string, line: number, context: RunContext): Promise<void> {
  const words = step.trim().split(/\s+/);
  const cwd = hostPath(stage, stage.workdir);
  if (words[0] === 'apt-get' || (words[0] === 'rm' && step.includes('/var/lib/apt/lists'))) {
    if (words[1] === 'install') stage.systemPackages.push(...words.slice(2).filter((w) => !w.startsWith('-')));
    return;
  }
  if (words[0] === 'mkdir' && words[1] === '-p') {
    for (const dir of words.slice(2)) {
      await mkdir(hostPath(stage, dir), { recursive: true });
      stage.createdDirs.push(posix.resolve(stage.workdir, dir));
    }
    return;
  }
  if (words[0] === 'chmod' && words.length === 3 && /^[0-7]{3,4}$/.test(words[1]!)) {
    await chmod(hostPath(stage, posix.resolve(stage.workdir, words[2]!)), parseInt(words[1]!, 8));
    return;
  }
  if (words[0] === 'npm' && words[1] === 'cache' && words[2] === 'clean') return; // the host's cache is not the image's
  if (words[0] === 'npm' && words[1] === 'ci') {
    const key = await installKey(stage, step);
    const cached = context.installCache?.get(key);
    await context.timed(`RUN ${step} (stage ${stage.name}${cached ? ', cached' : ''})`, async () => {
      if (cached) return linkNodeModules(cached, cwd);
      await exec('npm', [...words.slice(1), '--offline'], cwd, line, context.log);
      context.installCache?.set(key, cwd);
    });
    return;
  }
  if (words[0] === 'npm' && (words[1] === 'run' || words[1] === 'pkg')) {
    await context.timed(`RUN ${step} (stage ${stage.name})`, () => exec('npm', words.slice(1), cwd, line, context.log));
    return;
  }
  throw new ImageStageError('instruction_unsupported', `Dockerfile line ${line}: the image check does not emulate RUN ${step}`);
}

/** Same command on the same manifests (every package.json and the lockfile in the stage) = same install. */
async function installKey(stage: Stage, step: string): Promise<string> {
  const hash = createHash('sha256').update(step);
  const cwd = hostPath(stage, stage.workdir);
  const manifests = (await readdir(cwd, { recursive: true }))
    .filter((p) => /(?:^|\/)(?:package\.json|package-lock\.json)$/.test(p) && !p.includes('node_modules'))
    .sort();
  for (const path of manifests) hash.update(`\0${path}\0`).update(await readFile(join(cwd, path)));
  return hash.digest('hex');
}

/** Hard-link the node_modules trees of an earlier install into `cwd` (cp -al: seconds for ~650 MB). */
async function linkNodeModules(from: string, cwd: string): Promise<void> {
  const workspaces = await readdir(join(from, 'packages')).catch(() => [] as string[]);
  const trees = ['node_modules', ...workspaces.map((w) => join('packages', w, 'node_modules'))];
  for (const tree of trees) {
    if (!(await stat(join(from, tree)).catch(() => null))) continue;
    await mkdir(join(cwd, tree, '..'), { recursive: true });
    await exec('cp', ['-al', join(from, tree), join(cwd, tree)], cwd, 0, () => undefined);
  }
}

function exec(command: string, args: string[], cwd: string, line: number, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, PATH: `${posix.dirname(process.execPath)}:${process.env.PATH ?? IMAGE_PATH_ENV}`, npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => reject(new ImageStageError('run_failed', `Dockerfile line ${line}: ${command}: ${error.message}`)));
    child.on('close', (code) => {
      log(`${command} ${args.join(' ')} → ${code}`);
      if (code === 0) resolve();
      else reject(new ImageStageError('run_failed', `Dockerfile line ${line}: ${command} ${args.join(' ')} exited ${code}:\n${output}`));
    });
  });
}
