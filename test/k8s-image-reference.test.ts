/**
 * The pinned image reference (constructs/k8s/common/image-reference.ts) against the grammar the kubelet parses
 * images with: distribution/reference v0.6.0 `ParseNormalizedNamed` (normalize.go) over `Parse`
 * (reference.go, regexp.go). The accepted and refused inputs are cases of that tag's `reference_test.go`
 * (TestReferenceParse) and `normalize_test.go`; gpufleet adds one rule: a reference must be pinned (a tag
 * or a sha256 digest), never an implicit `latest`.
 */
import { imageReferenceProblem, parseImageReference } from '../constructs/k8s/common/image-reference';

const SHA = `sha256:${'f'.repeat(64)}`;

describe('image references the kubelet accepts', () => {
  // reference_test.go v0.6.0, inputs with a tag or digest (parsed without error there)
  test.each([
    ['test.com:tag', { path: 'test.com', tag: 'tag' }],
    ['test.com:5000', { path: 'test.com', tag: '5000' }],
    ['test.com/repo:tag', { domain: 'test.com', path: 'repo', tag: 'tag' }],
    ['test:5000/repo:tag', { domain: 'test:5000', path: 'repo', tag: 'tag' }],
    [`test:5000/repo@${SHA}`, { domain: 'test:5000', path: 'repo', digest: SHA }],
    [`test:5000/repo:tag@${SHA}`, { domain: 'test:5000', path: 'repo', tag: 'tag', digest: SHA }],
    ['lowercase:Uppercase', { path: 'lowercase', tag: 'Uppercase' }],
    [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, { tag: 'tag-puts-this-over-max' }],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux' }],
    ['b.gcr.io/test.example.com/my-app:test.example.com', { domain: 'b.gcr.io', path: 'test.example.com/my-app' }],
    ['xn--n3h.com/myimage:xn--n3h.com', { domain: 'xn--n3h.com', path: 'myimage' }],
    ['foo/foo_bar.com:8080', { path: 'foo/foo_bar.com', tag: '8080' }],
    ['192.168.1.1:tag', { path: '192.168.1.1', tag: 'tag' }],
    ['192.168.1.1:5000/repo:5050', { domain: '192.168.1.1:5000', path: 'repo', tag: '5050' }],
    ['[2001:db8:1:2:3:4:5:6]/repo:tag', { domain: '[2001:db8:1:2:3:4:5:6]', path: 'repo', tag: 'tag' }],
    [`[2001:db8::1]:5000/repo:tag@${SHA}`, { domain: '[2001:db8::1]:5000', path: 'repo', digest: SHA }],
    [`example.com/${'a'.repeat(255)}:tag`, { domain: 'example.com' }],
    // the images gpufleet and its users pin
    ['nvcr.io/nvidia/tritonserver:25.08-py3', { domain: 'nvcr.io', path: 'nvidia/tritonserver', tag: '25.08-py3' }],
    [`registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.1@${SHA}`, { repository: 'registry.k8s.io/autoscaling/cluster-autoscaler' }],
  ])('%s', (input, parts) => {
    expect(imageReferenceProblem('image', input)).toBeUndefined();
    expect(parseImageReference(input)).toMatchObject(parts);
  });
});

describe('image references the kubelet refuses', () => {
  // reference_test.go / normalize_test.go v0.6.0 error cases (ErrNameEmpty, ErrReferenceInvalidFormat,
  // digest.ErrDigestInvalidLength, ErrDigestUnsupported, ErrNameContainsUppercase, ErrNameTooLong, "must be lowercase")
  test.each([
    ['', /is empty/],
    [':justtag', /is not a valid image reference/],
    [`@${SHA}`, /is not a valid image reference/],
    [`repo@sha256:${'f'.repeat(34)}`, /expected sha256: and 64 lowercase hex digits/],
    [`validname@invaliddigest:${'f'.repeat(64)}`, /expected sha256: and 64 lowercase hex digits/],
    ['Uppercase:tag', /uppercase letters in the repository "Uppercase"/],
    ['test:5000/Uppercase/lowercase:tag', /uppercase letters/],
    [`domain/${'a'.repeat(256)}:tag`, /repository path of 263 characters, more than 255/],
    ['aa/asdf$$^/aa:tag', /is not a valid image reference/],
    ['[2001:db8::1]:tag', /is not a valid image reference/],
    ['[fe80::1%eth0]:5000/repo:tag', /is not a valid image reference/],
    ['f'.repeat(64), /hexadecimal image id/],
  ])('fails on %j', (input, reason) => {
    const problem = imageReferenceProblem('spec.image', input);
    expect(problem).toMatch(/^spec\.image: expected a pinned image reference: repository:tag or repository@sha256:/);
    expect(problem).toMatch(reason);
  });

  test('fails on an unpinned reference (an implicit latest), naming the value', () => {
    expect(imageReferenceProblem('image', 'nvcr.io/nvidia/tritonserver')).toBe(
      'image: expected a pinned image reference: repository:tag or repository@sha256:<64 hex digits> (e.g. ' +
        'nvcr.io/nvidia/tritonserver:25.08-py3), ' +
        'got "nvcr.io/nvidia/tritonserver" (is not pinned: give a tag (repository:tag) or a digest (repository@sha256:...))',
    );
  });

  test('fails on a non-string and quotes at most 100 characters of a long value', () => {
    expect(imageReferenceProblem('image', 42)).toMatch(/got 42 \(is empty or not a string\)$/);
    const long = `${'x'.repeat(5000)} y`;
    const p = imageReferenceProblem('image', long)!;
    expect(p.length).toBeLessThan(400);
    expect(p).toContain('(5002 characters)');
  });
});
