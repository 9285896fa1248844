/**
 * Helper of scripts/validate-deploy.sh, run with tsx; check_deploy.py calls it. Answers
 * questions about the real code so the deployment files are checked against it rather
 * than against a copy of its rules:
 *
 *   check-runtime.ts config   stdin: [{ where, env, file? }]  stdout: [{ where, ok, error?, config?, auth? }]
 *     Parses each container's environment with the binaries' own loadConfig (unknown
 *     TASKD_* keys, bad values and cross-field rules fail exactly as at start-up) and
 *     parseHostPort, and returns the parsed settings, defaults filled in, and whether
 *     authentication is on (authEnabled: what requireAuthBeyondLoopback asks for).
 *     `file` is the text of the config file that env.TASKD_CONFIG_FILE names, as mounted
 *     in the container; it is read from there, not from this machine's disk.
 *
 *   check-runtime.ts inputs ENTRY...   stdout: { files, packages }
 *     Follows the static imports of each entry point (esbuild, no output written) and
 *     lists the repository files they reach and the npm packages they import.
 *
 *   check-runtime.ts metrics   stdout: [{ name, type, labels }]
 *     Every metric family taskd exports (internal/observability/metrics.ts, all parts).
 *
 *   check-runtime.ts serve
 *     All three, as one JSON request per stdin line ({ config: cases }, { inputs: entries }
 *     or { metrics: true }) answered by one JSON line each, so a caller with many
 *     questions starts tsx once.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { builtinModules } from 'node:module';
import { authEnabled, loadConfig, parseHostPort } from '../../internal/config/config.js';
import { Metrics, type MetricsPart } from '../../internal/observability/metrics.js';

interface EnvCase {
  where: string;
  env: Record<string, string>;
  /** Text of the file env.TASKD_CONFIG_FILE names (from the ConfigMap mounted there). */
  file?: string;
}

function checkConfig(cases: EnvCase[]): unknown[] {
  return cases.map(({ where, env, file }) => {
    try {
      const config = loadConfig(env, file === undefined ? {} : { fileText: { text: file } });
      const addr = parseHostPort(config.TASKD_ADDR, 'TASKD_ADDR');
      const health = parseHostPort(config.TASKD_WORKER_HEALTH_ADDR, 'TASKD_WORKER_HEALTH_ADDR');
      return { where, ok: true, config: { ...config, addr, health }, auth: authEnabled(config) };
    } catch (e) {
      return { where, ok: false, error: (e as Error).message };
    }
  });
}

const ALL_PARTS: MetricsPart[] = ['rpc', 'api', 'scheduler', 'relay', 'worker', 'notifier', 'postgres', 'redis', 'config'];

/** The families of a Metrics playing every part, without the default process metrics. */
async function listMetrics(): Promise<{ name: string; type: string; labels: string[] }[]> {
  const m = new Metrics({ parts: ALL_PARTS, process: 'check', defaultMetrics: false });
  const families = await m.registry.getMetricsAsJSON();
  return families.map((f) => {
    const metric = m.registry.getSingleMetric(f.name) as unknown as { labelNames?: string[] } | undefined;
    return { name: f.name, type: String(f.type), labels: [...(metric?.labelNames ?? [])] };
  });
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

async function listInputs(entries: string[]): Promise<{ files: string[]; packages: string[] }> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: entries,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    outdir: 'out',
  });
  const builtins = new Set(builtinModules);
  const files = new Set<string>();
  const packages = new Set<string>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    files.add(file);
    for (const imp of input.imports) {
      if (!imp.external) continue;
      if (imp.path.startsWith('node:') || builtins.has(imp.path)) continue;
      packages.add(packageName(imp.path));
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'config') {
  const cases = JSON.parse(readFileSync(0, 'utf8')) as EnvCase[];
  process.stdout.write(`${JSON.stringify(checkConfig(cases))}\n`);
} else if (mode === 'inputs' && args.length > 0) {
  process.stdout.write(`${JSON.stringify(await listInputs(args))}\n`);
} else if (mode === 'metrics') {
  process.stdout.write(`${JSON.stringify(await listMetrics())}\n`);
} else if (mode === 'serve') {
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { config?: EnvCase[]; inputs?: string[]; metrics?: boolean };
    const res = req.config ? checkConfig(req.config) : req.metrics ? await listMetrics() : await listInputs(req.inputs ?? []);
    process.stdout.write(`${JSON.stringify(res)}\n`);
  }
} else {
  process.stderr.write('usage: check-runtime.ts config < cases.json | inputs ENTRY... | metrics | serve\n');
  process.exit(2);
}
