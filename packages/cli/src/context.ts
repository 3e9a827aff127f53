/**
 * What a command runs with: the process environment (injected, so tests and `main` differ only
 * here), its parsed arguments, the resolved settings and an API client built from them.
 */
import type { Clock } from '@gastown/protocol';
import { stringOption, type ParsedArgs } from './args';
import { ApiClient, type FetchFn } from './client/api-client';
import { locateConfigFile, readConfigFile, type CliConfigFile, type ConfigFileLocation } from './config/config-file';
import { readDevAdminSecret } from './config/dev-secrets';
import { ENV, resolveSettings, type Settings } from './config/settings';
import { Output, type WritableLike } from './output/output';
import { resolveTownId } from './town-resolution';

/** Everything a command may touch outside itself. */
export interface CliEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home: string;
  stdout: WritableLike;
  stderr: WritableLike;
  /** Reads all of stdin (for `config set token -`). */
  readStdin: () => Promise<string>;
  fetch?: FetchFn;
  clock: Clock;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** `gastown dev`: the local stack (packages/cli/src/dev). */
  runDev: (args: string[]) => Promise<number>;
}

export class CommandContext {
  readonly out: Output;
  readonly sys: CliEnvironment;
  readonly args: ParsedArgs;
  #location: ConfigFileLocation | null = null;
  #file: CliConfigFile | null = null;
  #settings: Settings | null = null;
  #client: ApiClient | null = null;

  constructor(sys: CliEnvironment, args: ParsedArgs) {
    this.sys = sys;
    this.args = args;
    this.out = new Output(sys.stdout, sys.stderr, sys.env);
  }

  get json(): boolean {
    return this.args.json;
  }

  get now(): number {
    return this.sys.clock.now();
  }

  option(name: string): string | undefined {
    return stringOption(this.args.values, name);
  }

  configLocation(): ConfigFileLocation {
    this.#location ??= locateConfigFile({
      cwd: this.sys.cwd,
      home: this.sys.home,
      explicitPath: this.option('config') ?? this.sys.env[ENV.config] ?? null,
      xdgConfigHome: this.sys.env.XDG_CONFIG_HOME ?? null,
    });
    return this.#location;
  }

  configFile(): CliConfigFile {
    this.#file ??= readConfigFile(this.configLocation().path);
    return this.#file;
  }

  settings(): Settings {
    if (!this.#settings) {
      const location = this.configLocation();
      this.#settings = resolveSettings({
        flags: { url: this.option('url'), token: this.option('token'), town: this.option('town'), adminSecret: this.option('admin-secret') },
        env: this.sys.env,
        file: location.exists ? { path: location.path, config: this.configFile() } : null,
        devAdminSecret: location.kind === 'project' ? readDevAdminSecret(location.path) : null,
      });
    }
    return this.#settings;
  }

  client(): ApiClient {
    const settings = this.settings();
    this.#client ??= new ApiClient({ baseUrl: settings.url.value, token: settings.token.value, fetch: this.sys.fetch });
    return this.#client;
  }

  /** The API client and the town the command acts on (`--town`, GASTOWN_TOWN, the config, or the user's only town: town-resolution.ts). */
  async townClient(): Promise<{ client: ApiClient; townId: string }> {
    const client = this.client();
    return { client, townId: await resolveTownId(client, this.settings().town) };
  }
}
