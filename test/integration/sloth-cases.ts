/**
 * The Sloth conformance cases of ../shared/conformance/sloth (see its INDEX.md): the CLI calls of Sloth's
 * integration tests and of its examples generator, as data. `plugin` marks cases that need Go plugins (not part of
 * the fixture set) or contrib plugins SLO-Scout does not implement.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const SHARED = resolve(
  process.env.SLO_SCOUT_SHARED_DIR ?? resolve(import.meta.dirname, '../../../shared'),
);
export const SLOTH_DIR = resolve(SHARED, 'conformance/sloth');
export const slothFixturesPresent = () => existsSync(resolve(SLOTH_DIR, 'INDEX.md'));

export interface SlothCase {
  readonly name: string;
  /** Input file(s), relative to the sloth fixture root. */
  readonly inputs: readonly string[];
  /** Expected output (Go template or plain YAML), relative to the fixture root; undefined = must fail. */
  readonly expected?: string;
  readonly args: {
    readonly disableAlerts?: boolean;
    readonly disableRecordings?: boolean;
    readonly extraLabels?: Readonly<Record<string, string>>;
    readonly defaultPeriod?: string;
    readonly windowsDir?: string;
  };
  readonly plugin?: boolean;
}

const T = 'test/integration/prometheus/testdata';
const it = (
  name: string,
  input: string,
  expected: string | undefined,
  args: SlothCase['args'] = {},
  plugin = false,
): SlothCase => ({
  name,
  inputs: [`${T}/${input}`],
  ...(expected ? { expected: `${T}/${expected}` } : {}),
  args,
  plugin,
});

export const INTEGRATION_CASES: readonly SlothCase[] = [
  it('base', 'in-base.yaml', 'out-base.yaml.tpl'),
  it('base-k8s', 'in-base-k8s.yaml', 'out-base-k8s.yaml.tpl'),
  it('no-alerts', 'in-base.yaml', 'out-base-no-alerts.yaml.tpl', { disableAlerts: true }),
  it('no-recordings', 'in-base.yaml', 'out-base-no-recordings.yaml.tpl', { disableRecordings: true }),
  it('extra-labels', 'in-base.yaml', 'out-base-extra-labels.yaml.tpl', {
    extraLabels: { exk1: 'exv1', exk2: 'exv2' },
  }),
  it('sli-plugin', 'in-sli-plugin.yaml', 'out-sli-plugin.yaml.tpl', {}, true),
  it('slo-plugin', 'in-slo-plugin.yaml', 'out-slo-plugin.yaml.tpl', {}, true),
  it('slo-plugin-k8s', 'in-slo-plugin-k8s.yaml', 'out-slo-plugin-k8s.yaml.tpl', {}, true),
  it('multifile', 'in-multifile.yaml', 'out-multifile.yaml.tpl'),
  it('multifile-k8s', 'in-multifile-k8s.yaml', 'out-multifile-k8s.yaml.tpl'),
  it('openslo', 'in-openslo.yaml', 'out-openslo.yaml.tpl'),
  it('28d', 'in-base.yaml', 'out-base-28d.yaml.tpl', { defaultPeriod: '28d' }),
  it('custom-windows-7d', 'in-base.yaml', 'out-base-custom-windows-7d.yaml.tpl', {
    defaultPeriod: '7d',
    windowsDir: 'test/integration/prometheus/windows',
  }),
  it('invalid-version', 'in-invalid-version.yaml', undefined),
];

/** Examples that need plugins outside the fixture set (Go plugins) or contrib SLO plugins. */
const EXAMPLE_PLUGINS = new Set([
  'plugin-getting-started.yml',
  'plugin-k8s-getting-started.yml',
  'contrib-slo-plugins.yml',
  'contrib-denominator-corrected.yaml',
]);

export const EXAMPLES = [
  'contrib-denominator-corrected.yaml',
  'contrib-slo-plugins.yml',
  'getting-started.yml',
  'home-wifi.yml',
  'k8s-getting-started.yml',
  'k8s-home-wifi.yml',
  'k8s-multifile.yml',
  'kubernetes-apiserver.yml',
  'multifile.yml',
  'no-alerts.yml',
  'openslo-getting-started.yml',
  'openslo-kubernetes-apiserver.yml',
  'plugin-getting-started.yml',
  'plugin-k8s-getting-started.yml',
  'raw-home-wifi.yml',
  'slo-plugin-getting-started.yml',
  'slo-plugin-k8s-getting-started.yml',
  'victoria-metrics.yml',
];

export const EXAMPLE_CASES: readonly SlothCase[] = EXAMPLES.map((f) => ({
  name: `examples/${f}`,
  inputs: [`examples/${f}`],
  expected: `examples/_gen/${f}`,
  args: { extraLabels: { cmd: 'examplesgen.sh' } },
  plugin: EXAMPLE_PLUGINS.has(f) || f.startsWith('slo-plugin-') ? EXAMPLE_PLUGINS.has(f) : false,
}));
