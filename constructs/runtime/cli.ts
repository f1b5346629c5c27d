/**
 * `gpufleet router --config FILE [--log-level info|warn|silent]`: loads the config, starts the router,
 * prints `listening on http://HOST:PORT` once it accepts connections, and stops on SIGINT/SIGTERM.
 * Resolves with the exit code: 0 after a clean stop, 2 for a usage or config error (one line on stderr).
 */
import { ConfigError, loadConfigFile } from './config';
import { LogLevel, stderrLog } from './log';
import { Router } from './router';

const USAGE = 'usage: gpufleet router --config FILE [--log-level info|warn|silent]';

function usage(msg: string): number {
  process.stderr.write(`gpufleet router: ${msg}\n${USAGE}\n`);
  return 2;
}

export async function runRouterCli(argv: string[]): Promise<number> {
  let configFile: string | undefined;
  let level: LogLevel = 'info';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--config' || flag === '-c') configFile = value();
    else if (flag === '--log-level') {
      const v = value();
      if (v !== 'info' && v !== 'warn' && v !== 'silent') return usage(`--log-level: expected info, warn or silent, got ${JSON.stringify(v)}`);
      level = v;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else return usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!configFile) return usage('--config: expected a file, got nothing');

  let router: Router;
  try {
    router = new Router(loadConfigFile(configFile), stderrLog(level));
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
      router.close().then(() => resolve(0), () => resolve(1));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
