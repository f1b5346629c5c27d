// ESLint (flat config): typescript-eslint's recommended type-aware rules on the hand-written TypeScript, the core
// recommended rules on the few JavaScript files, and functions under 100 lines everywhere.
// `npm run lint` runs it alone; `npm test` runs it in test/static-checks.test.ts on the program the type check built.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** What Node gives a CommonJS or ES module file (the `globals` package is not a dependency). */
const nodeGlobals = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'performance',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  // build output, generated code (cdk8s import, the catalog tables) and dependencies
  globalIgnores(['lib/', 'dist/', 'build/', 'imports/', 'constructs/catalog/generated/', 'node_modules/', 'coverage/']),
  {
    files: ['{constructs,bin,stacks,examples,scripts,bench,test}/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // the compiler's noUnusedLocals/noUnusedParameters is the house rule; a leading underscore marks a name left unused on purpose
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // these read rendered manifests, Helm values, parsed YAML/JSON and mocked resource inputs, untyped JSON by nature: the
    // tests, the checks that read a rendering back (`gpufleet check`), the Pulumi side that takes the chart's objects,
    // the Triton stand-in's request bodies and the benches that read child processes' JSON
    files: [
      'test/**/*.ts',
      'bench/**/*.ts',
      'bin/lib/check-command.ts',
      'constructs/k8s/**/check-*.ts',
      'constructs/k8s/**/platform-checks.ts',
      'constructs/k8s/**/platform-facts.ts',
      'constructs/k8s/**/node-pool-facts.ts',
      'constructs/k8s/**/platform-prerequisites.ts',
      'constructs/k8s/**/karpenter-requirements.ts',
      'constructs/cloud/platform-release.ts',
      'constructs/cloud/gpu-platform.ts',
      'constructs/cloud/prerequisite-installs.ts',
      'constructs/cloud/cluster-prerequisites.ts',
      'constructs/runtime/standin/triton-standin.ts',
      'stacks/program.ts',
    ],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // an async function there implements a contract that returns a promise (a bench's run(), mocked async APIs) without awaiting
    files: ['bench/**/*.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'bin/gpufleet'],
    extends: [js.configs.recommended],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    // one function is one named step: at 100 lines it is several; in the tests too, where a describe callback at 100 lines
    // is several groups (split by behaviour, shared setup in a named helper or a once() fixture)
    rules: {
      'max-lines-per-function': ['error', { max: 99, skipBlankLines: false, skipComments: false }],
    },
  },
);
