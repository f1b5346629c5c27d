import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { MigConfig } from '../constructs/k8s/gpu/mig-config';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';
import { validateObjects } from './support/validate';

const balanced = () => MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
const h200 = () =>
  MigLayout.fromPlacements('h200-4-3', 'H200-141GB', [
    { profile: '4g.71gb', start: 0 },
    { profile: '3g.71gb', start: 4 },
  ]);

function configMapOf(objs: any[], name = 'gpufleet-mig-parted-config'): any {
  return objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
}

describe('MigConfig', () => {
  test('renders the mig-parted format with all-disabled and each layout filtered by PCI id', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const mig = new MigConfig(chart, 'Mig', { layouts: [balanced()] });
    mig.addLayout(h200());
    // THEN
    const objs = Testing.synth(chart);
    const cm = configMapOf(objs);
    expect(cm.metadata).toEqual({
      name: 'gpufleet-mig-parted-config',
      namespace: 'gpu-operator',
      labels: { 'app.kubernetes.io/managed-by': 'gpufleet' },
    });
    expect(Object.keys(cm.data)).toEqual(['config.yaml']);
    expect(parse(cm.data['config.yaml'])).toStrictEqual({
      version: 'v1',
      'mig-configs': {
        'all-disabled': [{ devices: 'all', 'mig-enabled': false }],
        'h100-balanced': [
          {
            'device-filter': ['0x233010DE', '0x233110DE'],
            devices: 'all',
            'mig-enabled': true,
            'mig-devices': { '1g.10gb': 2, '2g.20gb': 1, '3g.40gb': 1 },
          },
        ],
        'h200-4-3': [
          {
            'device-filter': ['0x233510DE', '0x233B10DE'],
            devices: 'all',
            'mig-enabled': true,
            'mig-devices': { '3g.71gb': 1, '4g.71gb': 1 },
          },
        ],
      },
    });
    expect(Object.keys(parse(cm.data['config.yaml'])['mig-configs'])).toEqual(['all-disabled', 'h100-balanced', 'h200-4-3']);
    expect(mig.configNames).toEqual(['all-disabled', 'h100-balanced', 'h200-4-3']);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('groups identical devices of a per-device layout and disables MIG where asked', () => {
    const chart = Testing.chart();
    const mig = new MigConfig(chart, 'Mig', { relayoutScript: false });
    mig.addLayout(
      MigLayout.perDevice('a100-mixed', 'A100-80GB', [{ '1g.10gb': 7 }, 'disabled', { '1g.10gb': 7 }, [{ profile: '7g.80gb', start: 0 }]]),
    );
    const objs = Testing.synth(chart);
    expect(objs).toHaveLength(1);
    const filter = ['0x20B210DE', '0x20B510DE'];
    expect(parse(objs[0].data['config.yaml'])['mig-configs']['a100-mixed']).toStrictEqual([
      { 'device-filter': filter, devices: [0, 2], 'mig-enabled': true, 'mig-devices': { '1g.10gb': 7 } },
      { 'device-filter': filter, devices: [1], 'mig-enabled': false },
      { 'device-filter': filter, devices: [3], 'mig-enabled': true, 'mig-devices': { '7g.80gb': 1 } },
    ]);
  });

  test('same layouts in another order give byte-identical YAML', () => {
    const render = (layouts: MigLayout[]) => {
      const chart = Testing.chart();
      const mig = new MigConfig(chart, 'Mig');
      layouts.forEach((l) => mig.addLayout(l));
      return Testing.synth(chart)
        .map((o) => JSON.stringify(o))
        .join('\n');
    };
    const a = render([balanced(), h200(), MigLayout.fromProfiles('h100-1g', 'H100-80GB', { '1g.10gb': 7 })]);
    const b = render([MigLayout.fromProfiles('h100-1g', 'H100-80GB', { '1g.10gb': 7 }), h200(), balanced()]);
    expect(b).toBe(a);
  });

  test('fails for a duplicate layout name', () => {
    const mig = new MigConfig(Testing.chart(), 'Mig', { layouts: [balanced()] });
    expect(() => mig.addLayout(MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '1g.10gb': 7 }))).toThrow(
      'layout: a MIG layout named "h100-balanced" was already added to MigConfig gpufleet-mig-parted-config; layout names must be unique',
    );
  });

  test('fails for bad names', () => {
    expect(() => new MigConfig(Testing.chart(), 'Mig', { name: 'MIG_config' })).toThrow(/^name: expected a DNS-1123 label/);
    expect(() => new MigConfig(Testing.chart(), 'Mig', { namespace: 'gpu operator' })).toThrow(/^namespace: expected a DNS-1123 label/);
  });

  test('fails for something that is not a MigLayout', () => {
    const mig = new MigConfig(Testing.chart(), 'Mig');
    expect(() => mig.addLayout({ name: 'x' } as any)).toThrow('layout: expected a MigLayout, got {"name":"x"}');
  });
});

describe('MigConfig re-layout script', () => {
  const script = (): string => {
    const chart = Testing.chart();
    new MigConfig(chart, 'Mig', { layouts: [balanced()] });
    const cm = configMapOf(Testing.synth(chart), 'gpufleet-mig-parted-config-relayout');
    return cm.data['relayout.sh'];
  };

  test('is valid sh and knows the config names', () => {
    const text = script();
    expect(spawnSync('sh', ['-n'], { input: text }).status).toBe(0);
    expect(text).toContain('KNOWN_LAYOUTS="all-disabled h100-balanced"');
  });

  /** Runs the script with a fake kubectl that records calls and plays the MIG manager (state = `result`). */
  function run(layout: string, result: 'success' | 'failed') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-relayout-'));
    try {
      fs.writeFileSync(path.join(dir, 'relayout.sh'), script(), { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'state'), 'success');
      fs.writeFileSync(path.join(dir, 'config'), 'all-disabled');
      fs.writeFileSync(
        path.join(dir, 'kubectl'),
        `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  *"mig\\.config\\.state"*) cat "${dir}/state" ;;
  "get node"*) cat "${dir}/config" ;;
  *"nvidia.com/mig.config.state-"*) : > "${dir}/state" ;;
  *"nvidia.com/mig.config="*) echo "${result}" > "${dir}/state" ;;
esac
exit 0
`,
        { mode: 0o755 },
      );
      const r = spawnSync('sh', [path.join(dir, 'relayout.sh'), 'node-1', layout, '30'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      const calls = fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : [];
      return { status: r.status, stderr: r.stderr, calls: calls.filter((c) => !c.startsWith('get node')) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('cordons, drains, relabels, waits for success and uncordons, in that order', () => {
    const { status, calls } = run('h100-balanced', 'success');
    expect(status).toBe(0);
    expect(calls).toEqual([
      'annotate node node-1 karpenter.sh/do-not-disrupt=true --overwrite',
      'cordon node-1',
      'drain node-1 --ignore-daemonsets --delete-emptydir-data --timeout=600s',
      'label node node-1 nvidia.com/mig.config.state-',
      'label node node-1 nvidia.com/mig.config=h100-balanced --overwrite',
      'annotate node node-1 karpenter.sh/do-not-disrupt-',
      'uncordon node-1',
    ]);
  });

  test('fails and leaves the node cordoned when the MIG manager reports failed', () => {
    const { status, stderr, calls } = run('h100-balanced', 'failed');
    expect(status).toBe(1);
    expect(stderr).toContain('MIG manager reports failed on node-1; node left cordoned');
    expect(calls).not.toContain('uncordon node-1');
  });

  test('fails for a layout the ConfigMap does not have, before touching the node', () => {
    const { status, stderr, calls } = run('h100-unknown', 'success');
    expect(status).toBe(2);
    expect(stderr).toContain("relayout: unknown layout 'h100-unknown'; known: all-disabled h100-balanced");
    expect(calls).toEqual([]);
  });
});
