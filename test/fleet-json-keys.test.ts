/**
 * Duplicate keys in JSON fleets (constructs/fleet/json-keys.ts): `JSON.parse` keeps the last of two equal keys,
 * so gpufleet proves there is none by counting the colons (or, when strings hold colons, the keys) written in the
 * text against the own keys of the parsed objects (`hasDuplicateKey`), and only on a difference scans for the
 * first one to name it (`findDuplicateKey`).
 * The count must never miss a duplicate: strings holding quotes, colons and backslashes, keys equal only after
 * unescaping, `__proto__`, white space before the colon.
 */
import fc from 'fast-check';
import { FleetValidationError, parseFleet } from '../constructs/fleet';
import { checkFleet } from '../constructs/fleet/validate';
import { randomFleetDocument } from './support/random-fleets';
import { findDuplicateKey, hasDuplicateKey } from '../constructs/fleet/json-keys';

const dup = (text: string): boolean => hasDuplicateKey(text, JSON.parse(text));

describe('hasDuplicateKey', () => {
  test('no duplicate: strings with quotes, colons and backslashes are not keys; equal keys in different objects are fine', () => {
    expect(dup('{"a": "x\\":", "b\\\\": "\\\\", "c" : [ {"d":1}, {"d":2}, "\\"e\\": 1" ], "f": {"a": "a:"}}')).toBe(false);
    expect(dup('[]')).toBe(false);
    expect(dup('{}')).toBe(false);
  });

  test.each([
    ['the top level', '{"a":1,"a":2}'],
    ['an object in an array', '{"x":[{"k":1},{"k":1,"k":2}]}'],
    ['white space before the colon', '{"a" :1,\n"a"\t: 2}'],
    ['keys equal after unescaping', '{"name":1,"na\\u006de":2}'],
    ['__proto__ (JSON.parse defines it as an own key)', '{"__proto__":1,"__proto__":2}'],
    ['a key ending in an escaped backslash', '{"a\\\\":1,"a\\\\":2}'],
    // more colons than keys (so the quick count of colons proves nothing, and the keys are counted)
    ['a text whose strings hold colons', '{"t":"a:b:c","a":1,"a":"::"}'],
  ])('finds a duplicate at %s', (_, text) => {
    expect(dup(text)).toBe(true);
    expect(findDuplicateKey(text)).toBeDefined();
  });

  test('counts own keys only when Object.prototype has an enumerable property (the count then checks each key)', () => {
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      expect(dup('{"a":1,"b":{"c":2}}')).toBe(false);
      expect(dup('{"a":1,"b":{"c":2,"c":3}}')).toBe(true);
    } finally {
      delete proto.polluted;
    }
    expect(dup('{"a":1,"b":{"c":2}}')).toBe(false);
  });

  test('agrees with the full scan on random documents (fast-check, 300 runs)', () => {
    const key = fc.constantFrom('a', 'b', 'a\\"', 'a:', '__proto__', 'n\\u0061', 'na', '\\\\');
    const leaf = fc.oneof(fc.integer(), fc.constantFrom('"x"', '"\\":"', '"\\\\"', '"{"', 'null', 'true'));
    const { tree } = fc.letrec<{ tree: string; obj: string; arr: string }>((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf.map(String), tie('obj'), tie('arr')),
      obj: fc
        .array(fc.tuple(key, tie('tree'), fc.constantFrom('', ' ', '\n')), { maxLength: 5 })
        .map((pairs) => `{${pairs.map(([k, v, ws]) => `"${k}"${ws}:${v}`).join(',')}}`),
      arr: fc.array(tie('tree'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    }));
    fc.assert(
      fc.property(tree, (text) => {
        expect(dup(text)).toBe(findDuplicateKey(text) !== undefined);
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

describe('JSON fleets', () => {
  test('a duplicate key deep in a profile row is rejected as before, with its path and position', () => {
    const text =
      '{"name":"f","gpus":[{"type":"A100-80GB"}],"models":[{"name":"m","team":"t","rps":1,"latencySloMs":100,"memoryGiB":1,' +
      '"profiles":[{"gpu":"A100-80GB","slice":1,"batch":1,"instances":1,"throughput":10,"latencyMs":5,"throughput":20}]}]}';
    let error: unknown;
    try {
      parseFleet(text, 'f.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetValidationError);
    expect((error as FleetValidationError).problems).toEqual([
      `f.json:1:${text.lastIndexOf('"throughput"') + 1}: models[0].profiles[0].throughput: duplicate key (first at line 1, column ` +
        `${text.indexOf('"throughput"') + 1}); keys must be unique`,
    ]);
  });

  // every kind of mapping a valid fleet has: the top, gpus[i], models[i], triton, throughputPerGpu, profile rows
  const everyMapping = {
    name: 'f',
    latencyHeadroom: 0.5,
    gpus: [{ type: 'A100-80GB', mig: true, pricePerGpuHour: 4 }, { type: 'L4' }],
    models: [
      {
        name: 'm',
        team: 't',
        rps: 10,
        latencySloMs: 100,
        memoryGiB: 1,
        triton: { platform: 'onnxruntime_onnx', maxBatchSize: 8 },
        throughputPerGpu: { L4: 400 },
        profiles: [
          { gpu: 'A100-80GB', slice: 1, batch: 1, instances: 1, throughput: 10, latencyMs: 5 },
          { gpu: 'A100-80GB', slice: 2, batch: 4, instances: 1, throughput: 30, latencyMs: 9 },
        ],
      },
      { name: 'n', team: 't', rps: 5, latencySloMs: 50, memoryGiB: 2, throughputPerGpu: { 'A100-80GB': 100, L4: 50 } },
    ],
  };
  const ownKeys = (v: unknown): number =>
    v === null || typeof v !== 'object'
      ? 0
      : Array.isArray(v)
        ? v.reduce((n: number, x) => n + ownKeys(x), 0)
        : Object.keys(v).length + Object.values(v).reduce((n: number, x) => n + ownKeys(x), 0);

  test('validation counts the keys of every mapping of a valid fleet exactly once (the duplicate-key check relies on it)', () => {
    const result = checkFleet(JSON.parse(JSON.stringify(everyMapping)));
    expect(result.problems).toEqual([]);
    expect(result.keysRead).toBe(ownKeys(everyMapping));
    expect(result.keysRead).toBe(39);
  });

  // a duplicate key in each kind of mapping of an otherwise valid fleet, written after the key it repeats
  test.each([
    ['the top level', '"name":"f"', '"name":"f","name":"g"', 'name'],
    ['a GPU', '"pricePerGpuHour":4', '"pricePerGpuHour":4,"pricePerGpuHour":5', 'gpus[0].pricePerGpuHour'],
    ['a model', '"rps":10', '"rps":10,"rps":11', 'models[0].rps'],
    ['triton', '"maxBatchSize":8', '"maxBatchSize":8,"maxBatchSize":8', 'models[0].triton.maxBatchSize'],
    ['throughputPerGpu', '"L4":400', '"L4":400,"L4":300', 'models[0].throughputPerGpu.L4'],
    ['a profile row', '"latencyMs":5', '"latencyMs":5,"latencyMs":6', 'models[0].profiles[0].latencyMs'],
  ])('a duplicate key in %s of a valid fleet is rejected, naming its path', (_, from, to, path) => {
    const valid = JSON.stringify(everyMapping);
    expect(valid.includes(from)).toBe(true);
    const text = valid.replace(from, to);
    expect(() => parseFleet(valid, 'f.json')).not.toThrow();
    expect(() => parseFleet(text, 'f.json')).toThrow(`f.json:1:${text.indexOf(to) + from.length + 2}: ${path}: duplicate key`);
  });

  test('a fleet with a duplicate key and validation problems gets the duplicate-key problem alone, as before', () => {
    const text = JSON.stringify({ ...everyMapping, latencyHeadroom: 7 }).replace('"rps":10', '"rps":-1,"rps":10');
    let error: unknown;
    try {
      parseFleet(text, 'f.json');
    } catch (e) {
      error = e;
    }
    expect((error as FleetValidationError).problems).toEqual([
      expect.stringMatching(/^f\.json:1:\d+: models\[0\]\.rps: duplicate key \(first at line 1, column \d+\); keys must be unique$/),
    ]);
  });

  test('on 200 random valid fleets, the count equals every own key of the document, and a key written twice anywhere is caught', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const text = JSON.stringify(randomFleetDocument(seed));
      const result = checkFleet(JSON.parse(text));
      expect(result.problems).toEqual([]);
      expect(result.keysRead).toBe(ownKeys(JSON.parse(text)));
      // repeat the n-th key of the text (n from the seed), in whatever mapping it is
      const keys = [...text.matchAll(/"([A-Za-z0-9-]+)":([^,{}[\]]+)/g)];
      const k = keys[(seed * 7919) % keys.length];
      const twice = text.slice(0, k.index) + k[0] + ',' + text.slice(k.index);
      expect(() => parseFleet(twice, 'f.json')).toThrow(`: duplicate key (first at line 1, column ${k.index + 1})`);
    }
  });
});
