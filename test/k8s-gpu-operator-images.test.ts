/**
 * Pinned GPU operator component images (`gpuOperatorValues({ images })`): each reference becomes the chart's
 * `repository`, `image` and `version`, and the image the operator or the chart then composes from them is
 * the reference given. How they compose, read from gpu-operator v26.7.0:
 * - operands (device plugin, GFD, MIG manager, DCGM exporter, toolkit): `internal/image/image.go` ImagePath joins
 *   `repository + "/" + image` with `"@" + version` when version starts with `sha256:`, else `":" + version`;
 * - the operator Deployment and the validator: `deployments/gpu-operator/templates/_helpers.tpl`
 *   (`gpu-operator.fullimage`, `validator.fullimage`) always write `repository/image:version`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { testIf } from './support/notes';
import { GpuOperator, gpuOperatorValues, type GpuOperatorImageComponent, type HelmImage } from '../constructs/k8s';
import { parseImageReference } from '../constructs/k8s/common/image-reference';

const CHART_VALUES = path.resolve(__dirname, '..', '..', 'shared', 'crds', 'gpu-operator', 'values.yaml');
const testWithValues = testIf(fs.existsSync(CHART_VALUES), `needs the chart's values.yaml, and ${CHART_VALUES} is absent`);

const SHA: `sha256:${string}` = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The image the consumer composes from the chart values of `component`. */
function composed(component: GpuOperatorImageComponent, v: HelmImage): string {
  const chartJoinsWithColon = component === 'operator' || component === 'validator';
  return `${v.repository}/${v.image}${!chartJoinsWithColon && v.version!.startsWith('sha256:') ? '@' : ':'}${v.version}`;
}

const IMAGES = {
  operator: `registry.example.com:5000/mirror/gpu-operator:v26.7.0@${SHA}`,
  validator: 'nvcr.io/nvidia/gpu-operator:v26.7.0',
  devicePlugin: `nvcr.io/nvidia/k8s-device-plugin:v0.20.0@${SHA}`,
  gfd: `nvcr.io/nvidia/k8s-device-plugin@${SHA}`,
  migManager: 'nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.15.0',
  dcgmExporter: `nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless@${SHA}`,
  toolkit: 'nvcr.io/nvidia/k8s/container-toolkit:v1.20.0',
} as const;

describe('gpuOperatorValues images', () => {
  test("without images the values name none (the chart's own, pinned by tag)", () => {
    expect(JSON.stringify(gpuOperatorValues())).not.toMatch(/"(repository|image|version)"/);
  });

  test('every pinned image composes back to the reference given', () => {
    const values = gpuOperatorValues({ images: IMAGES }) as unknown as Record<string, HelmImage>;
    for (const [component, ref] of Object.entries(IMAGES) as [GpuOperatorImageComponent, string][]) {
      const got = composed(component, values[component]);
      expect(got).toBe(ref);
      const a = parseImageReference(got)!;
      const b = parseImageReference(ref)!;
      expect([a.repository, a.tag, a.digest]).toEqual([b.repository, b.tag, b.digest]);
    }
    expect(values.devicePlugin).toMatchObject({
      enabled: true,
      repository: 'nvcr.io/nvidia',
      image: 'k8s-device-plugin',
      version: `v0.20.0@${SHA}`,
    });
    expect(values.gfd).toEqual({ repository: 'nvcr.io/nvidia', image: 'k8s-device-plugin', version: SHA });
  });

  testWithValues('every image key it sets is a key of the chart values.yaml (v26.7.0)', () => {
    const text = fs.readFileSync(CHART_VALUES, 'utf8');
    const chart = parse(text);
    const values = gpuOperatorValues({ images: IMAGES }) as unknown as Record<string, HelmImage>;
    for (const component of Object.keys(IMAGES)) {
      for (const key of ['repository', 'image', 'version'] as const) {
        expect(values[component][key]).toBeDefined();
        if (key === 'version' && (component === 'operator' || component === 'validator')) {
          // values.yaml leaves these two commented out: "If version is not specified, then default is to use chart.AppVersion"
          expect(text).toMatch(new RegExp(`\\n${component}:\\n(?:  .*\\n)*?  #version: ""`));
        } else {
          expect(chart[component]).toHaveProperty(key);
        }
      }
    }
  });

  test('a Docker Hub name without a registry gets the repository it normalizes to', () => {
    const v = gpuOperatorValues({ images: { toolkit: 'toolkit:v1' } }).toolkit;
    expect(v).toMatchObject({ repository: 'docker.io/library', image: 'toolkit', version: 'v1' });
  });

  test('fails on a digest alone for the operator and validator (the chart would write repository/image:sha256:...)', () => {
    expect(() => gpuOperatorValues({ images: { operator: `nvcr.io/nvidia/gpu-operator@${SHA}` } })).toThrow(
      new RegExp(
        /^images\.operator: the chart writes <repository>\/<image>:<version> for the operator, so a digest alone gives an /.source +
          /invalid reference; give a tag with it/.source,
      ),
    );
  });

  test('fails on an unpinned or malformed reference and on an unknown component, naming it', () => {
    expect(() => gpuOperatorValues({ images: { devicePlugin: 'nvcr.io/nvidia/k8s-device-plugin' as any } })).toThrow(
      /^images\.devicePlugin: expected a pinned image reference: .*got "nvcr\.io\/nvidia\/k8s-device-plugin" \(is not pinned/,
    );
    expect(() => gpuOperatorValues({ images: { migManager: 'NVCR.io/Nvidia/mig:v1' } })).toThrow(
      /^images\.migManager: .*uppercase letters/,
    );
    expect(() => gpuOperatorValues({ images: { driver: 'nvcr.io/nvidia/driver:595.91.07' } as any })).toThrow(
      'images.driver: unknown component; allowed: operator, validator, toolkit, devicePlugin, gfd, migManager, dcgmExporter',
    );
  });

  test('the Flux HelmRelease of GpuOperator carries the pinned images', () => {
    const chart = Testing.chart();
    new GpuOperator(chart, 'Op', { images: { devicePlugin: IMAGES.devicePlugin, operator: IMAGES.operator } });
    const release = Testing.synth(chart).find((o) => o.kind === 'HelmRelease');
    expect(release.spec.values.devicePlugin).toMatchObject({
      repository: 'nvcr.io/nvidia',
      image: 'k8s-device-plugin',
      version: `v0.20.0@${SHA}`,
    });
    expect(release.spec.values.operator).toMatchObject({
      repository: 'registry.example.com:5000/mirror',
      image: 'gpu-operator',
      version: `v26.7.0@${SHA}`,
    });
  });
});
