/**
 * What differs between `opencode serve` and `kilo serve` (a fork with the same server API
 * and SDK). Everything else in the adapter is shared.
 */
import type { RuntimeKind } from '@gastown/protocol';

export interface RuntimeFlavor {
  kind: RuntimeKind;
  /** npm package whose postinstall places the platform binary at `wrapperBinary`. */
  wrapperPackage: string;
  wrapperBinary: string;
  /** Platform package name prefix: `<prefix>-linux-x64`, `-baseline`, `-musl` variants. */
  platformPackagePrefix: string;
  platformBinary: string;
  /** Prefix of the runtime's own env vars (OPENCODE_…, KILO_…). */
  envPrefix: 'OPENCODE' | 'KILO';
  /** Basic-auth user name of the server (set explicitly through <PREFIX>_SERVER_USERNAME). */
  username: string;
  /** The `$schema` of the runtime's config. */
  configSchemaUrl: string;
  /** Directory name under $XDG_CONFIG_HOME holding the runtime's global config. */
  configDirName: string;
  /** The plugin SDK package the runtime would npm-install into its config dir unless seeded. */
  pluginPackage: string;
  pluginPackageVersion: string;
  /** Install hint for the error when the binary is missing. */
  installHint: string;
}

export const FLAVORS: Record<RuntimeKind, RuntimeFlavor> = {
  opencode: {
    kind: 'opencode',
    wrapperPackage: 'opencode-ai',
    wrapperBinary: 'bin/opencode.exe',
    platformPackagePrefix: 'opencode',
    platformBinary: 'bin/opencode',
    envPrefix: 'OPENCODE',
    username: 'opencode',
    configSchemaUrl: 'https://opencode.ai/config.json',
    configDirName: 'opencode',
    pluginPackage: '@opencode-ai/plugin',
    pluginPackageVersion: '1.18.33',
    installHint: 'npm install opencode-ai@1.18.33 (or opencode-linux-x64@1.18.33)',
  },
  kilo: {
    kind: 'kilo',
    wrapperPackage: '@kilocode/cli',
    wrapperBinary: 'bin/kilo',
    platformPackagePrefix: '@kilocode/cli',
    platformBinary: 'bin/kilo',
    envPrefix: 'KILO',
    username: 'kilo',
    configSchemaUrl: 'https://app.kilo.ai/config.json',
    configDirName: 'kilo',
    pluginPackage: '@kilocode/plugin',
    pluginPackageVersion: '7.7.7',
    installHint: 'npm install @kilocode/cli@7.7.7',
  },
};
