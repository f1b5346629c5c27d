/**
 * Container image references, pinned: `repository:tag`, `repository@sha256:<64 hex>` or both
 * (`repository:tag@sha256:...`, where the digest decides what is pulled). A reference without a tag or
 * digest (an implicit `:latest`) is refused, so every image gpufleet renders names what it runs.
 *
 * The grammar is the one the kubelet parses images with: `ParseNormalizedNamed` of distribution/reference
 * v0.6.0 (`normalize.go`, `reference.go`, `regexp.go`): an optional registry host (with a port, or an IPv6
 * address in brackets), lowercase path components separated by `.`, `_`, `__` or dashes, a tag of at most 128
 * word characters, dots and dashes, a path of at most 255 characters. Digests are `sha256:` with 64
 * lowercase hex digits (go-digest's check for that algorithm): the only algorithm the GPU operator's
 * `ImagePath` (gpu-operator v26.7.0 `internal/image/image.go`) and every registry gpufleet targets use.
 */
import { quote } from '../../fleet/quote';

/** A pinned image reference: `repository:tag`, `repository@sha256:<digest>` or `repository:tag@sha256:<digest>`. */
export type ImageReference = `${string}:${string}` | `${string}@sha256:${string}`;

/** The parts of a pinned image reference, as written (not normalized). */
export interface ParsedImageReference {
  /** Registry host (and port) when the reference names one (`nvcr.io`, `localhost:5000`), else undefined (Docker Hub). */
  readonly domain?: string;
  /** The repository path after the registry (`nvidia/tritonserver`). */
  readonly path: string;
  /** Everything before the tag and digest (`nvcr.io/nvidia/tritonserver`). */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 lowercase hex>`. */
  readonly digest?: string;
}

/** Longest repository path (distribution/reference `RepositoryNameTotalLengthMax`). */
export const IMAGE_PATH_MAX_CHARS = 255;

// distribution/reference v0.6.0 regexp.go, expression by expression.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*)|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE_NAME})$`);
const SHA256 = /^sha256:[a-f0-9]{64}$/;

const EXPECTED =
  'a pinned image reference: repository:tag or repository@sha256:<64 hex digits> (e.g. nvcr.io/nvidia/tritonserver:25.08-py3)';

/** Parses a reference; a string describing the problem when it is not a pinned image reference. */
function parse(value: unknown): ParsedImageReference | string {
  if (typeof value !== 'string' || value.length === 0) return 'is empty or not a string';
  if (/^[a-f0-9]{64}$/.test(value)) return 'is a 64-character hexadecimal image id, not a reference';
  // splitDockerDomain (normalize.go): the first component is a registry when it has a "." or ":", is
  // "localhost", or has an uppercase letter; otherwise the reference is on Docker Hub.
  const slash = value.indexOf('/');
  const first = slash === -1 ? '' : value.slice(0, slash);
  const hasDomain = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  const remainder = hasDomain ? value.slice(slash + 1) : value;
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) return `has uppercase letters in the repository ${quote(remote)}; repositories are lowercase`;
  const m = REFERENCE.exec(value);
  if (!m) return 'is not a valid image reference';
  const [, repository, tag, digest] = m;
  const name = NAME.exec(repository);
  const domain = hasDomain ? name?.[1] : undefined;
  const path = hasDomain ? (name?.[2] ?? repository) : repository;
  const normalizedPath = hasDomain || path.includes('/') ? path : `library/${path}`;
  if (normalizedPath.length > IMAGE_PATH_MAX_CHARS)
    return `has a repository path of ${normalizedPath.length} characters, more than ${IMAGE_PATH_MAX_CHARS}`;
  if (digest !== undefined && !SHA256.test(digest)) return `has the digest ${quote(digest)}; expected sha256: and 64 lowercase hex digits`;
  if (tag === undefined && digest === undefined) return 'is not pinned: give a tag (repository:tag) or a digest (repository@sha256:...)';
  return { domain, path, repository, tag, digest };
}

/** The parts of a pinned image reference, or undefined when `value` is none. */
export function parseImageReference(value: unknown): ParsedImageReference | undefined {
  const r = parse(value);
  return typeof r === 'string' ? undefined : r;
}

/**
 * The problem with a value that must be a pinned image reference, naming `path` and the value (at most 100
 * characters of it), or undefined when it is one:
 * `image: expected a pinned image reference: ..., got "tritonserver" (is not pinned: give a tag ...)`.
 */
export function imageReferenceProblem(path: string, value: unknown): string | undefined {
  const r = parse(value);
  return typeof r === 'string' ? `${path}: expected ${EXPECTED}, got ${quote(value)} (${r})` : undefined;
}

/** Throws `imageReferenceProblem` as an Error; returns the parsed reference otherwise. */
export function assertImageReference(path: string, value: unknown): ParsedImageReference {
  const r = parse(value);
  if (typeof r === 'string') throw new Error(`${path}: expected ${EXPECTED}, got ${quote(value)} (${r})`);
  return r;
}
