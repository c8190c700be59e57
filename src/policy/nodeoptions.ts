/**
 * NODE_OPTIONS read as Node reads it, to tell whether it makes every node
 * process in the jail load code. Pure.
 *
 * Node splits the variable with its own tokeniser (ParseNodeOptionsEnvVar in
 * src/node_options.cc): a space ends a word, double quotes group and are
 * removed wherever they stand (`--re"qui"re` is `--require`), and inside
 * quotes a backslash takes the next character literally; tabs and single
 * quotes are ordinary characters. An unclosed quote or a backslash at the
 * very end is an error, and Node refuses to start. The words then go through
 * the option parser (OptionsParser::Parse in src/node_options-inl.h): `_` in
 * a name counts as `-` (`--experimental_loader`), `--name=value` only for
 * double-dash names, a value may be the next word unless that starts with
 * `-` (`\-` escapes it), `--no-` negates a boolean, and parsing stops at the
 * first word that is no option.
 *
 * jail keeps NODE_OPTIONS only when every word is an option below that loads
 * no code, with its value: an unknown name, a stray word or a parse error
 * drops the variable (fail closed), so a flag a later Node adds is dropped
 * until it is added here.
 */

/**
 * Options that make node load code, or a file that decides what code runs:
 * preloads and loaders; `--test-reporter` and `--test-global-setup` (modules
 * the test runner imports); `--snapshot-blob` (a snapshot holds the entry
 * function it runs); `--openssl-config` (an OpenSSL config can load engines
 * and providers, which are shared libraries); `--env-file` and the config
 * files (they can set NODE_OPTIONS); `--experimental-policy`. Node 22 and 24
 * refuse some of these in NODE_OPTIONS; they are listed so that no Node
 * version gets them. Names as the parser sees them, after `_` → `-`.
 */
const LOADERS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--experimental-policy',
  '--policy-integrity',
  '--env-file',
  '--env-file-if-exists',
  '--experimental-config-file',
  '--experimental-default-config-file',
  '--openssl-config',
  '--snapshot-blob',
  '--test-reporter',
  '--test-global-setup',
]);

/**
 * Options Node 20, 22 and 24 accept in NODE_OPTIONS that load no code and
 * take a value, as `--name=value` or as the next word (Node's kString,
 * kStringList, kInteger, kUInteger and kHostPort options, with aliases).
 * `--icu-data-dir` names ICU data, not code: kept. Taken from Node 20's
 * option table (`internalBinding('options').getCLIOptionsInfo()`) and
 * node_options.cc of Node 24.
 */
const WITH_VALUE = new Set(
  (
    '-C --conditions --allow-fs-read --allow-fs-write --cpu-prof-dir --cpu-prof-interval --cpu-prof-name ' +
    '--debug-port --diagnostic-dir --disable-proto --disable-warning --dns-result-order ' +
    '--experimental-default-type --experimental-test-isolation --heap-prof-dir --heap-prof-interval --heap-prof-name ' +
    '--heapsnapshot-near-heap-limit --heapsnapshot-signal --icu-data-dir --input-type --inspect-port ' +
    '--inspect-publish-uid --localstorage-file --max-http-header-size --network-family-autoselection-attempt-timeout ' +
    '--redirect-warnings --report-dir --report-directory --report-filename --report-signal --secure-heap ' +
    '--secure-heap-min --stack-trace-limit --test-coverage-branches --test-coverage-exclude ' +
    '--test-coverage-functions --test-coverage-include --test-coverage-lines --test-isolation ' +
    '--test-name-pattern --test-reporter-destination --test-shard --test-skip-pattern --title ' +
    '--tls-cipher-list --tls-keylog --trace-event-categories --trace-event-file-pattern ' +
    '--trace-require-module --unhandled-rejections --use-largepages --v8-pool-size --watch-path'
  ).split(' '),
);

/** Boolean options: no value, and `--no-NAME` negates them. */
const BOOLEAN = new Set(
  (
    '--addons --allow-addons --allow-child-process --allow-wasi --allow-worker --async-context-frame ' +
    '--cpu-prof --debug-arraybuffer-allocations --deprecation --disable-sigusr1 --disable-wasm-trap-handler ' +
    '--enable-fips --enable-network-family-autoselection --enable-source-maps --entry-url ' +
    '--experimental-addon-modules --experimental-async-context-frame --experimental-detect-module ' +
    '--experimental-eventsource --experimental-fetch --experimental-global-customevent ' +
    '--experimental-global-navigator --experimental-global-webcrypto --experimental-import-meta-resolve ' +
    '--experimental-network-imports --experimental-permission --experimental-print-required-tla ' +
    '--experimental-quic --experimental-repl-await --experimental-require-module --experimental-shadow-realm ' +
    '--experimental-sqlite --experimental-strip-types --experimental-transform-types ' +
    '--experimental-vm-modules --experimental-wasm-modules --experimental-webstorage --experimental-websocket ' +
    '--extra-info-on-fatal-exception --force-async-hooks-checks --force-context-aware --force-fips ' +
    '--force-node-api-uncaught-exceptions-policy --frozen-intrinsics --global-search-paths --heap-prof ' +
    '--insecure-http-parser --inspect --inspect-brk --inspect-wait --network-family-autoselection ' +
    '--node-snapshot --openssl-legacy-provider --openssl-shared-config --pending-deprecation --permission ' +
    '--preserve-symlinks --preserve-symlinks-main --report-compact --report-exclude-env ' +
    '--report-exclude-network --report-on-fatalerror --report-on-signal --report-uncaught-exception ' +
    '--test-only --throw-deprecation --tls-max-v1.2 --tls-max-v1.3 --tls-min-v1.0 --tls-min-v1.1 ' +
    '--tls-min-v1.2 --tls-min-v1.3 --trace-atomics-wait --trace-deprecation --trace-env ' +
    '--trace-env-js-stack --trace-env-native-stack --trace-exit --trace-promises --trace-sigint ' +
    '--trace-sync-io --trace-tls --trace-uncaught --trace-warnings --track-heap-objects --use-bundled-ca ' +
    '--use-openssl-ca --use-system-ca --verify-base-objects --warnings --watch --watch-preserve-output ' +
    '--zero-fill-buffers'
  ).split(' '),
);

/** No-ops and V8 options: no value but after `=` (`--max-old-space-size=4096`), no `--no-`. */
const PLAIN = new Set(
  (
    '--abort-on-uncaught-exception --disallow-code-generation-from-strings --enable-etw-stack-walking ' +
    '--es-module-specifier-resolution --experimental-abortcontroller --experimental-json-modules ' +
    '--experimental-modules --experimental-report --experimental-specifier-resolution ' +
    '--experimental-top-level-await --experimental-wasi-unstable-preview1 --experimental-worker --expose-gc ' +
    '--http-parser --huge-max-old-generation-size --interpreted-frames-native-stack --jitless ' +
    '--max-old-space-size --max-semi-space-size --napi-modules --node-memory-debug --perf-basic-prof ' +
    '--perf-basic-prof-only-functions --perf-prof --perf-prof-unwinding-info --trace-events-enabled'
  ).split(' '),
);

/** Node's ParseNodeOptionsEnvVar: the words, or null where Node refuses to start. */
export function parseNodeOptions(value: string): string[] | null {
  const words: string[] = [];
  let inString = false;
  let startNew = true;
  for (let i = 0; i < value.length; i++) {
    let c = value[i]!;
    if (c === '\\' && inString) {
      if (i + 1 === value.length) return null; // "invalid escape"
      c = value[++i]!;
    } else if (c === ' ' && !inString) {
      startNew = true;
      continue;
    } else if (c === '"') {
      inString = !inString;
      continue;
    }
    if (startNew) {
      words.push(c);
      startNew = false;
    } else words[words.length - 1] += c;
  }
  return inString ? null : words; // "unterminated string"
}

/** Why NODE_OPTIONS (or npm's node-options) is left out, or null to keep it. */
export function nodeOptionsReason(value: string): string | null {
  const words = parseNodeOptions(value);
  if (words === null) return 'NODE_OPTIONS node cannot parse';
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word.length <= 1 || !word.startsWith('-')) return 'NODE_OPTIONS jail cannot check'; // node stops here
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = normalise(eq < 0 ? word : word.slice(0, eq));
    if (LOADERS.has(name)) return 'loads code';
    const negated = name.startsWith('--no-') ? '--' + name.slice(5) : null;
    if (WITH_VALUE.has(name)) {
      if (eq >= 0) continue;
      const next = words[i + 1];
      if (next === undefined || next.startsWith('-')) return 'NODE_OPTIONS node cannot parse'; // "requires an argument"
      i++;
    } else if (!BOOLEAN.has(name) && !PLAIN.has(name) && !(negated !== null && BOOLEAN.has(negated))) {
      return 'NODE_OPTIONS jail cannot check';
    }
  }
  return null;
}

/** As Node: `_` → `-` after the leading two characters. */
function normalise(name: string): string {
  return name.slice(0, 2) + name.slice(2).replace(/_/g, '-');
}
