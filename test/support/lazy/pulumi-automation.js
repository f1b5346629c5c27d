// @pulumi/pulumi's Automation API (`pulumi.automation`: driving the Pulumi CLI from a program), loaded on first
// use (./lazy.js says why): @pulumi/pulumi's index requires it when it loads, with execa and the CLI wrappers;
// no program and no test under mocks uses it.
'use strict';
module.exports = require('./lazy')(require.resolve('@pulumi/pulumi/automation'));
