#!/usr/bin/env node
'use strict';
// npm's script-shell: `script-shell=/path/to/jail-sh` in a project's .npmrc
// runs every lifecycle and run script jailed (see the README).
process.exitCode = require('../dist/cli.js').scriptShell(process.argv.slice(2), process.env, process.cwd());
