#!/bin/sh
':' //; # npm's script-shell: `script-shell=/path/to/jail-sh` in a project's
':' //; # .npmrc runs every lifecycle and run script jailed (see the README).
':' //; # Started by sh, then by node: see bin/jail.cjs for why.
':' //; set -f; n=${npm_node_execpath-}; case $n in /*/node_modules/*|'') n=;; esac; [ -n "$n" ] && [ -x "$n" ] || n=
':' //; if [ -z "$n" ]; then IFS=:; for d in $PATH; do case $d/ in */node_modules/*) ;; /*) if [ -f "$d/node" ] && [ -x "$d/node" ]; then n=$d/node; break; fi;; esac; done; unset IFS; fi
':' //; if [ -z "$n" ]; then echo "jail-sh: cannot find node on PATH (outside node_modules)" >&2; exit 125; fi
':' //; if [ -n "${NODE_OPTIONS+set}" ]; then export JAIL_NODE_OPTIONS="$NODE_OPTIONS"; unset NODE_OPTIONS; fi
':' //; exec "$n" "$0" "$@"
'use strict';
const status = require('../dist/load.cjs')().scriptShell(process.argv.slice(2), process.env, process.cwd());
if (typeof status === 'number') process.exitCode = status;
else status.then((code) => { process.exitCode = code; });
