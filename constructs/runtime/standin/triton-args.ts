/**
 * `tritonserver`'s command line as Triton r25.08 reads it (server `src/command_line_parser.cc`, `.h`), for the
 * stand-in and for tests of rendered Deployments:
 *
 * - options are long options, `--name=value` or `--name value` (getopt_long); an unknown name stops the server
 *   ("unrecognized option");
 * - booleans accept true/on/1 and false/off/0, case-insensitive (ParseOption<bool>); anything else is an error;
 * - deprecated options still work and print a warning: `--strict-model-config` (auto-complete is already the default;
 *   "Please use '--disable-auto-complete-config' instead"), `--response-cache-byte-size`, the `--trace-*` flags;
 * - defaults: `--strict-readiness` true, `--http-thread-count` 8, `--model-control-mode` none
 *   (`command_line_parser.h` TritonServerParameters).
 */

/** Every long option of r25.08 (`command_line_parser.cc`, the option tables). */
const OPTIONS = new Set(
  `help id exit-timeout-secs model-store model-repository exit-on-error disable-auto-complete-config strict-readiness
model-control-mode repository-poll-secs load-model model-config-name model-load-thread-count model-load-retry-count model-namespacing
enable-peer-access allow-http http-address http-port reuse-http-port http-header-forward-pattern http-thread-count http-max-input-size
http-restricted-api allow-grpc grpc-address grpc-port reuse-grpc-port grpc-header-forward-pattern grpc-infer-thread-count
grpc-max-response-pool-size grpc-use-ssl grpc-use-ssl-mutual grpc-server-cert grpc-server-key grpc-root-cert grpc-keepalive-time
grpc-keepalive-timeout grpc-max-connection-age grpc-restricted-protocol log-verbose log-info log-warning log-error log-format log-file
allow-sagemaker sagemaker-port sagemaker-safe-port-range sagemaker-thread-count allow-vertex-ai vertex-ai-port vertex-ai-thread-count
vertex-ai-default-model allow-metrics allow-gpu-metrics allow-cpu-metrics metrics-address metrics-port metrics-interval-ms metrics-config
trace-config cache-config cache-directory rate-limit rate-limit-resource pinned-memory-pool-byte-size cuda-memory-pool-byte-size
cuda-virtual-address-size buffer-manager-thread-count host-policy model-load-gpu-limit backend-directory backend-config repoagent-directory
strict-model-config response-cache-byte-size trace-file trace-level trace-rate trace-count trace-log-frequency`.split(/\s+/),
);
/** Options without an argument (Option::ArgNone). */
const NO_ARGUMENT = new Set(['help', 'disable-auto-complete-config']);
const BOOLEANS = new Set([
  'exit-on-error',
  'strict-readiness',
  'model-namespacing',
  'enable-peer-access',
  'allow-http',
  'reuse-http-port',
  'allow-grpc',
  'reuse-grpc-port',
  'grpc-use-ssl',
  'grpc-use-ssl-mutual',
  'log-info',
  'log-warning',
  'log-error',
  'allow-sagemaker',
  'allow-vertex-ai',
  'allow-metrics',
  'allow-gpu-metrics',
  'allow-cpu-metrics',
  'strict-model-config',
]);
/** Deprecated options: Triton prints a line starting `Warning: '--<name>' has been deprecated` and goes on. */
const DEPRECATED = new Set([
  'strict-model-config',
  'response-cache-byte-size',
  'trace-file',
  'trace-level',
  'trace-rate',
  'trace-count',
  'trace-log-frequency',
]);

export interface TritonCommandLine {
  /** Values by option name, in order (repeatable options such as `--load-model` keep every value). */
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly strictReadiness: boolean;
  readonly httpThreads: number;
  readonly modelControlMode: string;
  readonly loadModels: readonly string[];
  readonly autoCompleteConfig: boolean;
  /** Lines Triton prints and goes on (their start). */
  readonly warnings: readonly string[];
  /** Problems that stop Triton at start. */
  readonly errors: readonly string[];
}

function bool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === 'true' || l === 'on' || l === '1') return true;
  if (l === 'false' || l === 'off' || l === '0') return false;
  return undefined;
}

/** Reads `args` (without the `tritonserver` command itself) as Triton r25.08 does. */
export function parseTritonArgs(args: readonly string[]): TritonCommandLine {
  const values = new Map<string, string[]>();
  const warnings: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(a);
    if (!m) {
      errors.push(`unexpected argument ${JSON.stringify(a)}`);
      continue;
    }
    const name = m[1];
    if (!OPTIONS.has(name)) {
      errors.push(`tritonserver: unrecognized option '--${name}'`);
      continue;
    }
    let value = m[2];
    if (NO_ARGUMENT.has(name)) {
      if (value !== undefined) errors.push(`tritonserver: option '--${name}' doesn't allow an argument`);
      value = '';
    } else if (value === undefined) {
      if (i + 1 >= args.length) {
        errors.push(`tritonserver: option '--${name}' requires an argument`);
        continue;
      }
      value = args[++i];
    }
    if (BOOLEANS.has(name) && bool(value) === undefined) errors.push(`invalid value for bool option: ${value}`);
    if (DEPRECATED.has(name)) warnings.push(`Warning: '--${name}' has been deprecated`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const last = (n: string): string | undefined => values.get(n)?.slice(-1)[0];
  const threads = Number(last('http-thread-count') ?? 8);
  if (!Number.isInteger(threads) || threads < 1) errors.push(`Invalid option value. Got ${last('http-thread-count')}`);
  const strictModelConfig = last('strict-model-config');
  return {
    values,
    strictReadiness: bool(last('strict-readiness') ?? 'true') ?? true,
    httpThreads: threads,
    modelControlMode: last('model-control-mode') ?? 'none',
    loadModels: values.get('load-model') ?? [],
    // auto-complete is on unless disabled (or the deprecated --strict-model-config=true)
    autoCompleteConfig:
      !values.has('disable-auto-complete-config') && !(strictModelConfig !== undefined && bool(strictModelConfig) === true),
    warnings,
    errors,
  };
}
