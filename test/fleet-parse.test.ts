import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { FleetValidationError, loadFleetFile, parseFleet, validateFleet } from '../constructs/fleet';

/** A valid fleet document; tests copy and break it. */
function base(): any {
  return {
    name: 'payments-and-vision',
    gpus: [{ type: 'A100-80GB', pricePerGpuHour: 4.1 }, { type: 'L4' }],
    models: [
      {
        name: 'resnet50',
        team: 'vision',
        rps: 353,
        latencySloMs: 183,
        memoryGiB: 1.0,
        profiles: [{ gpu: 'A100-80GB', slice: 1, batch: 16, instances: 1, throughput: 412.3, latencyMs: 38.8 }],
        triton: { platform: 'onnxruntime_onnx', maxBatchSize: 16 },
      },
      { name: 'bert-base', team: 'payments', rps: 12, latencySloMs: 50, memoryGiB: 0.8, throughputPerGpu: { L4: 240, 'A100-80GB': 900 } },
    ],
  };
}

const YAML_FLEET = `
name: payments-and-vision          # DNS-1123 label
gpus:
  - type: A100-80GB
    mig: true
    pricePerGpuHour: 4.10
  - type: L4
models:
  - name: resnet50
    team: vision
    rps: 353
    latencySloMs: 183
    memoryGiB: 1.0
    profiles:
      - { gpu: A100-80GB, slice: 1, batch: 16, instances: 1, throughput: 412.3, latencyMs: 38.8 }
    throughputPerGpu: { L4: 610 }   # measured on A100-80GB; a figure for L4
    triton: { platform: onnxruntime_onnx, maxBatchSize: 16 }
`;

/** The problems of a document; asserts that it fails. */
function problemsOf(doc: unknown): string[] {
  const { fleet, problems } = validateFleet(doc);
  expect(fleet).toBeUndefined();
  expect(problems.length).toBeGreaterThan(0);
  return problems;
}

describe('parseFleet: reading and defaults', () => {
  test('parses YAML and resolves defaults', () => {
    const fleet = parseFleet(YAML_FLEET, 'fleet.yaml');
    expect(fleet.name).toBe('payments-and-vision');
    expect(fleet.latencyHeadroom).toBe(0.5);
    expect(fleet.processOverheadGiB).toBe(0.6);
    expect(fleet.coldBelowRps).toBeUndefined();
    expect(fleet.gpus).toEqual([
      // no instanceType: the planner chooses the nodes; the price is then that of the chosen instance
      { type: 'A100-80GB', mig: true, pricePerGpuHour: 4.1 },
      { type: 'L4', mig: false },
    ]);
    expect(fleet.models[0]).toEqual({
      name: 'resnet50',
      team: 'vision',
      rps: 353,
      latencySloMs: 183,
      memoryGiB: 1,
      profiles: [{ gpu: 'A100-80GB', slice: 1, batch: 16, instances: 1, throughput: 412.3, latencyMs: 38.8 }],
      throughputPerGpu: { L4: 610 },
      triton: { platform: 'onnxruntime_onnx', maxBatchSize: 16 },
    });
  });

  test('parses JSON to the same fleet as YAML', () => {
    const doc = base();
    expect(parseFleet(JSON.stringify(doc, null, 2), 'fleet.json')).toEqual(parseFleet(stringify(doc), 'fleet.yaml'));
  });

  test('defaults: mig follows the catalog, profiles = [], explicit values kept', () => {
    const doc = { ...base(), latencyHeadroom: 1, processOverheadGiB: 0, coldBelowRps: 0.5 };
    doc.gpus = [{ type: 'H100-80GB', mig: false }, { type: 'L4' }, { type: 'A100-80GB', pricePerGpuHour: 4.1 }];
    const fleet = parseFleet(JSON.stringify(doc));
    expect(fleet.latencyHeadroom).toBe(1);
    expect(fleet.processOverheadGiB).toBe(0);
    expect(fleet.coldBelowRps).toBe(0.5);
    expect(fleet.gpus.map((g) => g.mig)).toEqual([false, false, true]);
    expect(fleet.gpus[0]).toEqual({ type: 'H100-80GB', mig: false });
    expect(fleet.gpus[2]).toEqual({ type: 'A100-80GB', mig: true, pricePerGpuHour: 4.1 });
    expect(fleet.models[1].profiles).toEqual([]);
  });

  test('an instance type sets the price', () => {
    const doc = base();
    doc.gpus[1] = { type: 'L4', instanceType: 'g6.xlarge' };
    expect(parseFleet(JSON.stringify(doc)).gpus[1]).toEqual({ type: 'L4', mig: false, pricePerGpuHour: 0.8048, instanceType: 'g6.xlarge' });
  });
});

describe('parseFleet: errors and file reading', () => {
  test('reports every problem at once: three errors, three problems', () => {
    const doc = base();
    doc.models[0].rps = -5;
    doc.models[1].team = 'Payments';
    doc.gpus[0].migg = true;
    let error: unknown;
    try {
      parseFleet(stringify(doc), 'fleet.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetValidationError);
    const problems = (error as FleetValidationError).problems;
    expect(problems).toEqual([
      'gpus[0].migg: unknown key; did you mean "mig"?',
      'models[0].rps: expected a number > 0, got -5',
      'models[1].team: expected a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at ' +
        'most 63 characters), got "Payments"',
    ]);
    expect((error as Error).message).toBe(['fleet.yaml: 3 problems', ...problems].join('\n'));
  });

  test('fails on a YAML syntax error with line and column', () => {
    expect(() => parseFleet('name: x\ngpus: [ {type: L4}\nmodels: []\n', 'bad.yaml')).toThrow(
      /^bad.yaml: 1 problem\nbad.yaml:3:1: YAML syntax error: /,
    );
    try {
      parseFleet('name: x\nname: y\n', 'dup.yaml');
    } catch (e) {
      expect((e as FleetValidationError).problems).toEqual([
        'dup.yaml:2:1: name: duplicate key (first at line 1, column 1); keys must be unique',
      ]);
    }
  });

  test('JSON fleets: a duplicate key is still rejected, naming its path, line and column (JSON.parse would keep the last)', () => {
    const doc = base();
    const text = JSON.stringify(doc, null, 2).replace('"batch": 16,', '"batch": 16,\n          "batch": 32,');
    expect(JSON.parse(text).models[0].profiles[0].batch).toBe(32); // what JSON.parse alone would do
    let error: unknown;
    try {
      parseFleet(text, 'fleet.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetValidationError);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('"batch": 32')) + 1;
    const first = lines.findIndex((l) => l.includes('"batch": 16')) + 1;
    expect((error as FleetValidationError).problems).toEqual([
      `fleet.json:${line}:11: models[0].profiles[0].batch: duplicate key (first at line ${first}, column 11); keys must be unique`,
    ]);
    // keys equal after JSON unescaping are duplicates too, at the top level as anywhere
    expect(() => parseFleet('{"name": "a", "na\\u006de": "b"}', 'f.json')).toThrow(
      'f.json:1:15: name: duplicate key (first at line 1, column 2); keys must be unique',
    );
    // equal keys in different mappings are fine
    const ok = base();
    ok.models[1].name = 'bert-base';
    expect(parseFleet(JSON.stringify(ok), 'ok.json').models.map((m) => m.name)).toEqual(['resnet50', 'bert-base']);
  });

  test('JSON-looking text that is not JSON is read as YAML (a flow mapping), or fails with a positioned YAML error', () => {
    const doc = base();
    const flow = stringify(doc, { collectionStyle: 'flow' });
    expect(flow.trimStart().startsWith('{')).toBe(true);
    expect(() => JSON.parse(flow)).toThrow();
    expect(parseFleet(flow, 'flow.yaml')).toEqual(parseFleet(JSON.stringify(doc), 'fleet.json'));
    expect(() => parseFleet('{"name": "x",\n "gpus": [}', 'broken.json')).toThrow(
      /^broken.json: 1 problem\nbroken.json:2:\d+: YAML syntax error: /,
    );
  });

  test('fails on a document that is not a mapping', () => {
    expect(problemsOf([1, 2])).toEqual(['fleet: expected a mapping with name, gpus and models, got a list']);
  });

  test('loadFleetFile reads a file and names it in errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, YAML_FLEET);
    expect(loadFleetFile(good).models).toHaveLength(1);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ ...base(), name: 'Bad_Name' }));
    expect(() => loadFleetFile(bad)).toThrow(`${bad}: 1 problem\nname: expected a DNS-1123 label`);
    const missing = path.join(dir, 'missing.yaml');
    expect(() => loadFleetFile(missing)).toThrow(
      `${missing}: 1 problem\nfleet file ${JSON.stringify(missing)}: cannot read the file (no such file)`,
    );
  });
});

describe('throughputPerGpu through both readers', () => {
  const fleetText = (figure: string): string => `name: mixed
gpus: [{ type: H100-80GB }, { type: L4 }]
models:
  - { name: spell-fixer, team: search, rps: 15, latencySloMs: 300, memoryGiB: 0.7, throughputPerGpu: ${figure} }
`;

  test('a map reads the same from YAML and from JSON (the fast path)', () => {
    const yaml = parseFleet(fleetText('{ L4: 140, H100-80GB: 900 }'), 'f.yaml');
    const json = parseFleet(
      JSON.stringify({
        name: 'mixed',
        gpus: [{ type: 'H100-80GB' }, { type: 'L4' }],
        models: [
          {
            name: 'spell-fixer',
            team: 'search',
            rps: 15,
            latencySloMs: 300,
            memoryGiB: 0.7,
            throughputPerGpu: { L4: 140, 'H100-80GB': 900 },
          },
        ],
      }),
      'f.json',
    );
    expect(yaml.models[0].throughputPerGpu).toEqual({ 'H100-80GB': 900, L4: 140 });
    expect(json).toEqual(yaml);
  });

  test('fails on a bare number in a two-type fleet from YAML and from JSON, with the same line', () => {
    const expected =
      'models[0].throughputPerGpu: a single figure is ambiguous in a fleet offering H100-80GB and L4; write { H100-80GB: 900 } ' +
      'with a figure per GPU type it was measured on (the model is planned only on types with a figure or profiles)';
    expect(() => parseFleet(fleetText('900'), 'f.yaml')).toThrow(expected);
    const json = JSON.stringify({
      name: 'mixed',
      gpus: [{ type: 'H100-80GB' }, { type: 'L4' }],
      models: [{ name: 'spell-fixer', team: 'search', rps: 15, latencySloMs: 300, memoryGiB: 0.7, throughputPerGpu: 900 }],
    });
    let problems: string[] = [];
    try {
      parseFleet(json, 'f.json');
    } catch (e) {
      problems = (e as FleetValidationError).problems;
    }
    expect(problems).toEqual([expected]);
  });

  test('a duplicate GPU type in a JSON map is rejected (JSON.parse would keep the last figure)', () => {
    const json =
      '{"name":"mixed","gpus":[{"type":"L4"}],"models":[{"name":"a","team":"t","rps":1,"latencySloMs":100,"memoryGiB":1,' +
      '"throughputPerGpu":{"L4":140,"L4":900}}]}';
    expect(() => parseFleet(json, 'f.json')).toThrow('models[0].throughputPerGpu.L4: duplicate key');
  });
});
