// The TypeScript compiler @pulumi/pulumi would load, loaded on first use (./lazy.js says why).
'use strict';
module.exports = require('./lazy')(require.resolve('typescript', { paths: [require.resolve('@pulumi/pulumi')] }));
