/** Log lines on stderr (`<ISO time> <level> <message>`); stdout carries only the `listening on` line. */
export interface Log {
  info(msg: string): void;
  warn(msg: string): void;
}

export type LogLevel = 'info' | 'warn' | 'silent';

export function stderrLog(level: LogLevel = 'info'): Log {
  const write = (lvl: string, msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${lvl} ${msg}\n`);
  };
  return {
    info: (msg) => {
      if (level === 'info') write('info', msg);
    },
    warn: (msg) => {
      if (level !== 'silent') write('warn', msg);
    },
  };
}
