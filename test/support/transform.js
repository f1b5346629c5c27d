// jest transform for the TypeScript sources and tests: sucrase (https://github.com/alangpierce/sucrase) strips
// the types and turns the imports into CommonJS (`esModuleInterop` semantics, as tsconfig.json asks), hoisting
// `jest.mock` calls above them as ts-jest did. It does not type-check, which ts-jest was told not to either
// (`diagnostics: false`): types are checked by `npm run typecheck` and test/static-checks.test.ts. What it saves is
// the compile: about a tenth of the time of TypeScript's transpileModule, which mattered on a clean clone (every
// file compiled once, without jest's cache) by some ten seconds of CPU.
//
// Syntax: tsconfig.json's target ES2022 keeps class fields native (define semantics, as TypeScript emits them
// for ES2022); `disableESTransforms` leaves them, and every other ES2022 construct, as written. Line numbers are
// kept, and the source map points stack traces at the TypeScript.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { transform } = require('sucrase');

const VERSION = `${require('sucrase/package.json').version}:${crypto.createHash('sha1').update(fs.readFileSync(__filename)).digest('hex')}`;

module.exports = {
  process(source, filename) {
    const out = transform(source, {
      transforms: ['typescript', 'imports', 'jest'],
      filePath: filename,
      disableESTransforms: true,
      sourceMapOptions: { compiledFilename: filename },
    });
    return { code: out.code, map: out.sourceMap };
  },
  getCacheKey(source, filename, options) {
    return crypto
      .createHash('sha1')
      .update(VERSION)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(source)
      .update('\0')
      .update(options.configString)
      .update('\0')
      .update(String(options.instrument))
      .digest('hex');
  },
};
