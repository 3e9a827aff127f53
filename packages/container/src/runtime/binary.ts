/**
 * Finding the runtime binary in node_modules: the wrapper package's binary (its postinstall
 * copies the right platform build there), else a platform package (`opencode-linux-x64`,
 * `-baseline` on CPUs without AVX2, `-musl` variants).
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { RuntimeError } from './errors';
import type { RuntimeFlavor } from './flavor';

export interface BinaryLookup {
  /** Directory to start the node_modules search from (walks up to the filesystem root). */
  resolveFrom: string;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Whether the CPU has AVX2; read from /proc/cpuinfo on Linux when omitted. */
  hasAvx2?: boolean;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True for a native executable (ELF or Mach-O), false for a script shim. */
function isNative(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    const magic = head.readUInt32BE(0);
    return magic === 0x7f454c46 || magic === 0xcffaedfe || magic === 0xcefaedfe || magic === 0xfeedfacf;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function cpuHasAvx2(): boolean {
  try {
    return /(^|\s)avx2(\s|$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** `node_modules` directories from `start` up to the root. */
function nodeModulesDirs(start: string): string[] {
  const dirs: string[] = [];
  let current = start;
  const { root } = parse(start);
  for (;;) {
    dirs.push(join(current, 'node_modules'));
    if (current === root) break;
    current = dirname(current);
  }
  return dirs;
}

/** Platform package names to try, best first (glibc builds before musl builds on Linux). */
export function platformPackages(flavor: RuntimeFlavor, platform: string, arch: string, hasAvx2: boolean): string[] {
  const os = platform === 'win32' ? 'windows' : platform;
  const base = `${flavor.platformPackagePrefix}-${os}-${arch}`;
  const order = arch === 'x64' ? (hasAvx2 ? [base, `${base}-baseline`] : [`${base}-baseline`, base]) : [base];
  return platform === 'linux' ? [...order, ...order.map((name) => `${name}-musl`)] : order;
}

/** The absolute path of the runtime binary, or a RuntimeError('runtime_binary_missing'). */
export function resolveRuntimeBinary(flavor: RuntimeFlavor, lookup: BinaryLookup): string {
  const platform = lookup.platform ?? process.platform;
  const arch = lookup.arch ?? process.arch;
  const hasAvx2 = lookup.hasAvx2 ?? (arch === 'x64' ? cpuHasAvx2() : false);
  for (const dir of nodeModulesDirs(lookup.resolveFrom)) {
    const wrapper = join(dir, flavor.wrapperPackage, flavor.wrapperBinary);
    if (isFile(wrapper) && isNative(wrapper)) return wrapper;
    for (const pkg of platformPackages(flavor, platform, arch, hasAvx2)) {
      const candidate = join(dir, pkg, flavor.platformBinary);
      if (isFile(candidate) && isNative(candidate)) return candidate;
    }
  }
  throw new RuntimeError(
    'runtime_binary_missing',
    `the ${flavor.kind} binary is not installed (searched node_modules from ${lookup.resolveFrom} upwards for ${flavor.wrapperPackage} and ${flavor.platformPackagePrefix}-${platform}-${arch}); install it: ${flavor.installHint}`,
  );
}
