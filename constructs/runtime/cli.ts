/**
 * `gpufleet router --config FILE [--log-level info|warn|silent]`: loads the config, starts the router,
 * prints `listening on http://HOST:PORT` once it accepts connections, and stops on SIGINT/SIGTERM.
 * `gpufleet router --demo [--script] [--listen HOST:PORT] [--admin HOST:PORT]`: the router in front of local Triton
 * stand-ins (demo.ts).
 * Resolves with the exit code: 0 after a clean stop, 2 for a usage or config error (one line on stderr).
 */
import { quote } from '../fleet/quote';
import { ConfigError, loadConfigFile, parseListen } from './config';
import { LogLevel, stderrLog } from './log';
import { Router } from './router';

const USAGE = [
  'usage: gpufleet router --config FILE [--log-level info|warn|silent]',
  '       gpufleet router --demo [--script] [--listen HOST:PORT] [--admin HOST:PORT] [--log-level info|warn|silent]',
].join('\n');

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function usage(msg: string): number {
  process.stderr.write(`gpufleet router: ${msg}\n${USAGE}\n`);
  return 2;
}

type DemoAddresses = { listen?: { host: string; port: number }; admin?: { host: string; port: number } };

export async function runRouterCli(argv: string[]): Promise<number> {
  let configFile: string | undefined;
  let level: LogLevel | undefined;
  let demo = false;
  let script = false;
  const addrs: DemoAddresses = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--config' || flag === '-c') configFile = value();
    else if (flag === '--log-level') {
      const v = value();
      if (v !== 'info' && v !== 'warn' && v !== 'silent') return usage(`--log-level: expected info, warn or silent, got ${quote(v)}`);
      level = v;
    } else if (flag === '--demo' && inline === undefined) demo = true;
    else if (flag === '--script' && inline === undefined) script = true;
    else if (flag === '--listen' || flag === '--admin') {
      const key = flag.slice(2) as 'listen' | 'admin';
      const v = value();
      try {
        addrs[key] = parseListen(v, flag);
      } catch (e) {
        return usage((e as Error).message);
      }
      if (!LOOPBACK.has(addrs[key].host)) return usage(`${flag}: the demo listens on loopback only (127.0.0.1 or ::1), got ${quote(v)}`);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else return usage(`unknown argument ${quote(a)}`);
  }
  if (demo) {
    if (configFile !== undefined) return usage('--config: not with --demo (the demo configures its own backends and models)');
    return runDemo(script, level, addrs);
  }
  if (script) return usage('--script: only with --demo');
  if (addrs.listen || addrs.admin)
    return usage(`${addrs.listen ? '--listen' : '--admin'}: only with --demo (a config file sets listen and admin)`);
  if (!configFile) return usage('--config: expected a file, got nothing (or --demo to try the router on local stand-ins)');

  let router: Router;
  try {
    router = new Router(loadConfigFile(configFile), stderrLog(level ?? 'info'));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`gpufleet router: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let addr: Awaited<ReturnType<Router['start']>>;
  try {
    addr = await router.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { listen?: string };
    const [key, at] = err.listen === 'admin' ? ['admin', router.cfg.admin!] : ['listen', router.cfg];
    process.stderr.write(`gpufleet router: ${key}: cannot listen on ${at.host}:${at.port}: ${err.code ?? err.message}\n`);
    return 2;
  }
  const url = (a: { host: string; port: number }): string => `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  process.stdout.write(`listening on ${url(addr)}${addr.admin ? `, admin on ${url(addr.admin)}` : ''}\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      router.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `--demo`: the router in front of local Triton stand-ins (demo.ts); exit 2 when the demo cannot listen or is not in this build. */
async function runDemo(script: boolean, level: LogLevel | undefined, addrs: DemoAddresses): Promise<number> {
  // scripted: the demo's lines on stdout, the router's warnings only; interactive: the router's decisions as they happen
  const log = stderrLog(level ?? (script ? 'warn' : 'info'));
  // loaded only here: the demo's stand-ins need protobufjs, which the router image (Dockerfile) does not carry
  let demoModule: typeof import('./demo');
  try {
    demoModule = await import('./demo');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    process.stderr.write(
      `gpufleet router: --demo is not part of this build (${(e as Error).message.split('\n')[0]}); ` +
        'run it from the gpufleet package: npx gpufleet router --demo\n',
    );
    return 2;
  }
  try {
    return await demoModule.runRouterDemo({ script, ...addrs, log });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { listen?: string; address?: string; port?: number };
    if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
      const key = err.listen === 'admin' ? '--admin' : '--listen';
      process.stderr.write(
        `gpufleet router: ${key}: cannot listen on ${err.address}:${err.port}: ${err.code}; pass ${key} 127.0.0.1:0 for any free port\n`,
      );
      return 2;
    }
    throw e;
  }
}
