// A module loaded on first use. jest's moduleNameMapper (jest.config.js) puts these in place of two
// modules @pulumi/pulumi requires when it loads but uses only to serialise a function's closure
// (runtime/closure/*, for `pulumi up` of callback resources), which no test does: the TypeScript compiler
// (9 MB of JavaScript, through @pulumi/pulumi/typescript-shim.js) and @npmcli/arborist. jest compiles every
// module anew in each test file, so loading them eagerly cost each file that imports Pulumi about a second.
// The first property read loads the real module, so a use of either still works as it would.
'use strict';

/** A stand-in for the module at `realPath` (absolute: jest's moduleNameMapper does not map it again). */
module.exports = function lazyModule(realPath) {
  let real;
  const load = () => (real === undefined ? (real = require(realPath)) : real);
  return new Proxy(Object.create(null), {
    // `__esModule`: TypeScript's __importStar (how @pulumi/pulumi imports arborist) then takes this object as
    // it is instead of copying every property, which would load the module
    get: (_, key) => (key === '__esModule' ? true : load()[key]),
    has: (_, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Object.getOwnPropertyDescriptor(load(), key);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
  });
};
