/**
 * Start-up: commander requires node:child_process when it loads (for
 * executable subcommands, which jail has none of), and loading it costs
 * about 3 ms of every run. The CLI bundle resolves `node:child_process` to
 * this stand-in (esbuild --alias), which loads the real module on first use.
 */
type ChildProcessModule = typeof import('node:child_process');
let real: ChildProcessModule | undefined;
// The un-prefixed name is not aliased, so this is the real module.
 
const load = (): ChildProcessModule => (real ??= require('child_process') as ChildProcessModule);

module.exports = new Proxy({} as ChildProcessModule, {
  // A bundler's interop reads __esModule when the module is imported;
  // answering it must not load the real module.
  get: (_target, key) => (key === '__esModule' ? undefined : load()[key as keyof ChildProcessModule]),
  has: (_target, key) => key in load(),
});
