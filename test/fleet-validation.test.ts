import { validateFleet } from '../constructs/fleet';

function base(): any {
  return {
    name: 'vision',
    gpus: [{ type: 'A100-80GB' }, { type: 'L4' }],
    models: [
      {
        name: 'resnet50',
        team: 'vision',
        rps: 353,
        latencySloMs: 183,
        memoryGiB: 1,
        profiles: [
          { gpu: 'A100-80GB', slice: 1, batch: 16, instances: 1, throughput: 412.3, latencyMs: 38.8 },
          { gpu: 'A100-80GB', slice: 7, batch: 32, instances: 2, throughput: 2582, latencyMs: 12.4 },
        ],
      },
      { name: 'bert', team: 'nlp', rps: 10, latencySloMs: 50, memoryGiB: 0.5, throughputPerGpu: { 'A100-80GB': 900 } },
    ],
  };
}

/** Applies `change` to a valid fleet and returns its problems (asserting there are some). */
function problems(change: (doc: any) => void): string[] {
  const doc = base();
  change(doc);
  const result = validateFleet(doc);
  expect(result.fleet).toBeUndefined();
  expect(result.problems.length).toBeGreaterThan(0);
  return result.problems;
}

test('the base fleet is valid', () => {
  expect(validateFleet(base()).problems).toEqual([]);
});

describe('unknown keys', () => {
  test('fails on a misspelt key, suggesting the right one', () => {
    expect(
      problems((d) => {
        d.models[0].rsp = 3;
      }),
    ).toContain('models[0].rsp: unknown key; did you mean "rps"?');
    expect(
      problems((d) => {
        d.latencyHeadrom = 0.4;
      }),
    ).toEqual(['latencyHeadrom: unknown key; did you mean "latencyHeadroom"?']);
    expect(
      problems((d) => {
        d.models[0].profiles[1].latency = 3;
      }),
    ).toEqual(['models[0].profiles[1].latency: unknown key; did you mean "latencyMs"?']);
    expect(
      problems((d) => {
        d.models[0].triton = { maxBatch: 4 };
      }),
    ).toEqual(['models[0].triton.maxBatch: unknown key; did you mean "maxBatchSize"?']);
  });

  test('fails on an unrelated key, listing the allowed ones', () => {
    expect(
      problems((d) => {
        d.gpus[0].zone = 'a';
      }),
    ).toEqual(['gpus[0].zone: unknown key; allowed: type, mig, pricePerGpuHour, instanceType']);
  });
});

describe('required fields', () => {
  test('fails on missing top-level fields', () => {
    expect(
      problems((d) => {
        delete d.name;
        delete d.gpus;
        delete d.models;
      }),
    ).toEqual([
      'name: required, expected a DNS-1123 label',
      'gpus: required, expected a list of at least one GPU type',
      'models: required, expected a list of at least one model',
    ]);
  });

  test('fails on missing model and profile fields', () => {
    expect(
      problems((d) => {
        delete d.models[1].team;
        delete d.models[1].memoryGiB;
        delete d.models[0].profiles[0].throughput;
      }),
    ).toEqual([
      'models[0].profiles[0].throughput: required, expected a number > 0',
      'models[1].team: required, expected a DNS-1123 label',
      'models[1].memoryGiB: required, expected a number > 0',
    ]);
  });

  test('fails on a GPU entry without type', () => {
    expect(
      problems((d) => {
        d.gpus[1] = { mig: false };
      }),
    ).toContain('gpus[1].type: required, expected a catalog GPU id');
  });

  test('fails on empty gpus and models lists, and on a non-list', () => {
    expect(
      problems((d) => {
        d.gpus = [];
        d.models = [];
      }),
    ).toEqual(['gpus: expected at least one GPU type, got an empty list', 'models: expected at least one model, got an empty list']);
    expect(
      problems((d) => {
        d.gpus = 'A100-80GB';
      }),
    ).toContain('gpus: expected a list, got "A100-80GB"');
  });
});

describe('numbers', () => {
  test('fails on non-positive numbers', () => {
    expect(
      problems((d) => {
        d.models[0].rps = -5;
        d.models[0].latencySloMs = 0;
        d.models[1].memoryGiB = -1;
        d.models[1].throughputPerGpu = 0;
        d.models[0].profiles[0].throughput = 0;
        d.models[0].profiles[0].latencyMs = -2;
        d.gpus[0].pricePerGpuHour = 0;
        d.coldBelowRps = 0;
      }),
    ).toEqual([
      'coldBelowRps: expected a number > 0, got 0',
      'gpus[0].pricePerGpuHour: expected a number > 0, got 0',
      'models[0].rps: expected a number > 0, got -5',
      'models[0].latencySloMs: expected a number > 0, got 0',
      'models[0].profiles[0].throughput: expected a number > 0, got 0',
      'models[0].profiles[0].latencyMs: expected a number > 0, got -2',
      'models[1].memoryGiB: expected a number > 0, got -1',
      'models[1].throughputPerGpu: expected a number > 0, got 0',
    ]);
  });

  test('fails on numbers written as strings', () => {
    expect(
      problems((d) => {
        d.models[0].rps = '353';
      }),
    ).toEqual(['models[0].rps: expected a number > 0, got "353"']);
  });

  test('fails on non-integer batch and instances', () => {
    expect(
      problems((d) => {
        d.models[0].profiles[0].batch = 1.5;
        d.models[0].profiles[1].instances = 0;
      }),
    ).toEqual([
      'models[0].profiles[0].batch: expected an integer > 0, got 1.5',
      'models[0].profiles[1].instances: expected an integer > 0, got 0',
    ]);
  });

  test('fails on latencyHeadroom outside (0, 1]', () => {
    expect(
      problems((d) => {
        d.latencyHeadroom = 0;
      }),
    ).toEqual(['latencyHeadroom: expected a number in (0, 1], got 0']);
    expect(
      problems((d) => {
        d.latencyHeadroom = 1.5;
      }),
    ).toEqual(['latencyHeadroom: expected a number in (0, 1], got 1.5']);
  });

  test('fails on processOverheadGiB < 0', () => {
    expect(
      problems((d) => {
        d.processOverheadGiB = -0.1;
      }),
    ).toEqual(['processOverheadGiB: expected a number >= 0, got -0.1']);
  });
});

describe('names', () => {
  test('fails on a bad fleet name', () => {
    expect(
      problems((d) => {
        d.name = 'Payments_Vision';
      })[0],
    ).toMatch(/^name: expected a DNS-1123 label .*, got "Payments_Vision"$/);
  });

  test('fails on a bad model name and team', () => {
    const p = problems((d) => {
      d.models[0].name = 'resnet-';
      d.models[1].team = 'NLP';
    });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^models\[0\]\.name: expected a DNS-1123 label .*got "resnet-"$/);
    expect(p[1]).toMatch(/^models\[1\]\.team: expected a DNS-1123 label .*got "NLP"$/);
  });

  test('fails on a name over 63 characters', () => {
    const long = 'a'.repeat(64);
    expect(
      problems((d) => {
        d.models[0].name = long;
      }),
    ).toEqual([`models[0].name: expected a DNS-1123 label of at most 63 characters, got "${long}" (64 characters)`]);
  });

  test('fails on duplicate model names, naming both indexes', () => {
    expect(
      problems((d) => {
        d.models[1].name = 'resnet50';
      }),
    ).toEqual(['models[1].name: duplicate model name "resnet50" (also models[0])']);
  });
});

describe('GPU types', () => {
  test('fails on an unknown GPU type, listing the known ones', () => {
    expect(
      problems((d) => {
        d.gpus[0].type = 'A100';
      }),
    ).toContain(
      'gpus[0].type: unknown GPU type "A100"; known: A100-40GB, A100-80GB, A10G, A30, B200-180GB, H100-80GB, H100-94GB, ' +
        'H100-96GB, H200-141GB, L4, L40S, T4',
    );
  });

  test('fails on a GPU type listed twice', () => {
    expect(
      problems((d) => {
        d.gpus.push({ type: 'L4', pricePerGpuHour: 1 });
      }),
    ).toEqual(['gpus[2].type: duplicate GPU type "L4" (also gpus[1])']);
  });

  test('fails on mig: true for a GPU without MIG', () => {
    expect(
      problems((d) => {
        d.gpus[1].mig = true;
      }),
    ).toEqual(['gpus[1].mig: L4 has no MIG profiles in the catalog; expected false or absent, got true']);
    expect(
      problems((d) => {
        d.gpus.push({ type: 'B200-180GB', mig: true });
      })[0],
    ).toMatch(/^gpus\[2\]\.mig: B200-180GB has no MIG profiles in the catalog \(the hardware supports MIG, but/);
  });

  test('fails on a mig value that is not a boolean', () => {
    expect(
      problems((d) => {
        d.gpus[0].mig = 'yes';
      }),
    ).toEqual(['gpus[0].mig: expected true or false, got "yes"']);
  });

  test('fails on an unknown instance type', () => {
    expect(
      problems((d) => {
        d.gpus[0].instanceType = 'p4.24xlarge';
      }),
    ).toEqual(['gpus[0].instanceType: unknown instance type "p4.24xlarge"; instance types for A100-80GB: p4de.24xlarge']);
  });

  test('fails on an instance type of another GPU', () => {
    expect(
      problems((d) => {
        d.gpus[0].instanceType = 'p5.48xlarge';
      }),
    ).toEqual(['gpus[0].instanceType: "p5.48xlarge" carries H100-80GB, not A100-80GB; instance types for A100-80GB: p4de.24xlarge']);
  });

  test('fails without a price when the catalog has none', () => {
    expect(
      problems((d) => {
        d.gpus.push({ type: 'A30' });
      }),
    ).toEqual(['gpus[2].pricePerGpuHour: required, the catalog has no priced instance type for A30']);
    expect(
      problems((d) => {
        d.gpus.push({ type: 'H200-141GB', instanceType: 'p5e.48xlarge' });
      }),
    ).toEqual(['gpus[2].pricePerGpuHour: required, the catalog has no price for instance type p5e.48xlarge']);
  });
});

describe('profiles', () => {
  test('fails on a profile for a GPU not listed in gpus', () => {
    expect(
      problems((d) => {
        d.models[0].profiles[0].gpu = 'H100-80GB';
      }),
    ).toEqual(['models[0].profiles[0].gpu: "H100-80GB" is not listed in gpus (listed: A100-80GB, L4)']);
  });

  test('fails on a profile for an unknown GPU', () => {
    expect(
      problems((d) => {
        d.models[0].profiles[0].gpu = 'V100';
      })[0],
    ).toMatch(/^models\[0\]\.profiles\[0\]\.gpu: unknown GPU type "V100"; known: A100-40GB/);
  });

  test('fails on a slice size that does not exist', () => {
    expect(
      problems((d) => {
        d.models[0].profiles[0].slice = 5;
      }),
    ).toEqual(['models[0].profiles[0].slice: expected one of 1, 2, 3, 4, 7, got 5']);
  });

  test('fails on a slice size the GPU does not have (3 on A30, 2 on L4)', () => {
    expect(
      problems((d) => {
        d.gpus.push({ type: 'A30', pricePerGpuHour: 1.2 });
        d.models[1].profiles = [
          { gpu: 'A30', slice: 3, batch: 1, instances: 1, throughput: 50, latencyMs: 9 },
          { gpu: 'A30', slice: 4, batch: 1, instances: 1, throughput: 80, latencyMs: 8 },
          { gpu: 'L4', slice: 2, batch: 1, instances: 1, throughput: 80, latencyMs: 8 },
        ];
      }),
    ).toEqual([
      'models[1].profiles[0].slice: A30 has no 3-slice instance; expected one of 1, 2, 4, got 3',
      'models[1].profiles[2].slice: L4 has no 2-slice instance (it is used whole: slice 7); expected one of 7, got 2',
    ]);
  });

  test('fails on a duplicate profile entry', () => {
    expect(
      problems((d) => {
        d.models[0].profiles.push({ ...d.models[0].profiles[0], throughput: 1 });
      }),
    ).toEqual(['models[0].profiles[2]: duplicate entry for gpu A100-80GB slice 1 batch 16 instances 1 (also profiles[0])']);
  });

  test('fails on a model with neither profiles nor throughputPerGpu', () => {
    expect(
      problems((d) => {
        delete d.models[1].throughputPerGpu;
      }),
    ).toEqual([
      'models[1] (bert): no profiles and no throughputPerGpu for A100-80GB or L4, the GPU types the fleet offers; ' +
        'give measured profiles or throughputPerGpu: { A100-80GB: <requests/s on one whole GPU> }',
    ]);
  });

  test('fails when triton.maxBatchSize is below a profile batch', () => {
    expect(
      problems((d) => {
        d.models[0].triton = { platform: 'onnxruntime_onnx', maxBatchSize: 16 };
      }),
    ).toEqual(['models[0].triton.maxBatchSize: expected at least 32 (the batch of models[0].profiles[1]), got 16']);
  });

  test('fails on a bad triton block', () => {
    expect(
      problems((d) => {
        d.models[0].triton = { platform: '', maxBatchSize: 2.5 };
      }),
    ).toEqual([
      'models[0].triton.platform: expected a non-empty string, got ""',
      'models[0].triton.maxBatchSize: expected an integer >= 0, got 2.5',
    ]);
    expect(
      problems((d) => {
        d.models[0].triton = 'onnx';
      }),
    ).toEqual(['models[0].triton: expected a mapping, got "onnx"']);
  });

  test('fails on profiles that are not a list', () => {
    expect(
      problems((d) => {
        d.models[0].profiles = { gpu: 'A100-80GB' };
      }),
    ).toEqual(['models[0].profiles: expected a list, got an object']);
  });
});

describe('throughputPerGpu per GPU type', () => {
  test('fails on a bare number in a fleet offering two GPU types, naming the fix', () => {
    expect(
      problems((d) => {
        d.models[1].throughputPerGpu = 900;
      }),
    ).toEqual([
      'models[1].throughputPerGpu: a single figure is ambiguous in a fleet offering A100-80GB and L4; ' +
        'write { A100-80GB: 900 } with a figure per GPU type it was measured on (the model is planned only on types with a figure ' +
        'or profiles)',
    ]);
  });

  test('the fix suggests a type the model has no profiles for', () => {
    // resnet50 is profiled on A100-80GB: the bare figure can only have been meant for L4
    expect(
      problems((d) => {
        d.models[0].throughputPerGpu = 300;
      }),
    ).toEqual([
      'models[0].throughputPerGpu: a single figure is ambiguous in a fleet offering A100-80GB and L4; ' +
        'write { L4: 300 } with a figure per GPU type it was measured on (the model is planned only on types with a figure or profiles)',
    ]);
  });

  test("a bare number in a one-type fleet is that type's figure", () => {
    const doc = base();
    doc.gpus = [{ type: 'A100-80GB' }];
    doc.models[1].throughputPerGpu = 900;
    expect(validateFleet(doc).fleet!.models[1].throughputPerGpu).toEqual({ 'A100-80GB': 900 });
  });

  test('a map keeps one figure per catalog GPU type, keys sorted', () => {
    const doc = base();
    doc.models[1].throughputPerGpu = { L4: 140, 'A100-80GB': 900, 'H100-80GB': 1500 };
    const figures = validateFleet(doc).fleet!.models[1].throughputPerGpu!;
    expect(figures).toEqual({ 'A100-80GB': 900, 'H100-80GB': 1500, L4: 140 });
    expect(Object.keys(figures)).toEqual(['A100-80GB', 'H100-80GB', 'L4']);
  });

  test('fails on keys that are not catalog GPU types, suggesting the listed type meant', () => {
    const got = problems((d) => {
      d.models[1].throughputPerGpu = { l4: 140, a100: 900, 'Z9-nothing': 5 };
    });
    expect(got).toEqual([
      expect.stringMatching(/^models\[1\]\.throughputPerGpu\.Z9-nothing: unknown GPU type; known: A100-40GB, A100-80GB, .*, L4, /),
      'models[1].throughputPerGpu.a100: unknown GPU type; did you mean "A100-80GB"?',
      'models[1].throughputPerGpu.l4: unknown GPU type; did you mean "L4"?',
    ]);
  });

  test('fails on a non-positive figure, an empty map and a list', () => {
    expect(
      problems((d) => {
        d.models[1].throughputPerGpu = { 'A100-80GB': 0, L4: -3 };
      }),
    ).toEqual([
      'models[1].throughputPerGpu.A100-80GB: expected a number > 0, got 0',
      'models[1].throughputPerGpu.L4: expected a number > 0, got -3',
    ]);
    expect(
      problems((d) => {
        d.models[1].throughputPerGpu = {};
      }),
    ).toEqual([
      'models[1].throughputPerGpu: expected at least one GPU type with its requests/s on one whole GPU (e.g. { A100-80GB: 900 }), ' +
        'got an empty mapping',
    ]);
    expect(
      problems((d) => {
        d.models[1].throughputPerGpu = [900];
      }),
    ).toEqual([
      'models[1].throughputPerGpu: expected a mapping of GPU type to requests/s on one whole GPU (e.g. { A100-80GB: 900 }), got a list',
    ]);
  });

  test('fails on a model with figures only for GPU types the fleet does not offer, naming it and the types', () => {
    expect(
      problems((d) => {
        d.models[1].throughputPerGpu = { 'H100-80GB': 1500 };
      }),
    ).toEqual([
      'models[1] (bert): no profiles and no throughputPerGpu for A100-80GB or L4, the GPU types the fleet offers ' +
        '(throughputPerGpu names only H100-80GB); give measured profiles or throughputPerGpu: { A100-80GB: <requests/s on one whole GPU> }',
    ]);
  });

  test('a model with profiles needs no figure; a figure for a type it is not profiled on is kept', () => {
    const doc = base();
    doc.models[0].throughputPerGpu = { L4: 610 };
    expect(validateFleet(doc).fleet!.models[0].throughputPerGpu).toEqual({ L4: 610 });
  });
});
