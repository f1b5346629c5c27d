// @npmcli/arborist, loaded on first use (./lazy.js says why).
'use strict';
module.exports = require('./lazy')(require.resolve('@npmcli/arborist', { paths: [require.resolve('@pulumi/pulumi')] }));
