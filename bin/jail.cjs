#!/bin/sh
':' //; # Started by sh, then by node (this file is both). npm puts
':' //; # node_modules/.bin first on PATH, where a dependency may declare
':' //; # a bin named `node`; `#!/usr/bin/env node` would run it, unjailed.
':' //; # So node is npm's own ($npm_node_execpath), else the first on PATH
':' //; # outside any node_modules; and NODE_OPTIONS (a project .npmrc's
':' //; # node-options) is held back from jail's own node, see src/cli/main.ts.
':' //; set -f; n=${npm_node_execpath-}; case $n in /*/node_modules/*|'') n=;; esac; [ -n "$n" ] && [ -x "$n" ] || n=
':' //; if [ -z "$n" ]; then IFS=:; for d in $PATH; do case $d/ in */node_modules/*) ;; /*) if [ -f "$d/node" ] && [ -x "$d/node" ]; then n=$d/node; break; fi;; esac; done; unset IFS; fi
':' //; if [ -z "$n" ]; then echo "jail: cannot find node on PATH (outside node_modules)" >&2; exit 125; fi
':' //; if [ -n "${NODE_OPTIONS+set}" ]; then export JAIL_NODE_OPTIONS="$NODE_OPTIONS"; unset NODE_OPTIONS; fi
':' //; exec "$n" "$0" "$@"
'use strict';
const status = require('../dist/load.cjs').jail(process.argv.slice(2));
if (typeof status === 'number') process.exitCode = status;
else status.then((code) => { process.exitCode = code; });
