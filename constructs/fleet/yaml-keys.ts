/**
 * Duplicate keys in a parsed YAML document, found in linear time. The yaml package's own check
 * (`uniqueKeys: true`, compose/util-map-includes.js in yaml 2.x) compares each new key with every earlier key
 * of its mapping, so a mapping of n keys costs n² comparisons: 40,000 keys (700 KB, well inside the 16 MiB
 * input limit) took over a minute. The fleet parser turns that check off and runs this one instead: one hash
 * lookup per key.
 *
 * Keys are compared as the values they become (`String(value)` of a scalar key: `1` and `"1"` are the same
 * key of the resulting object, which the yaml package would not flag and `toJS` would silently merge). Aliases
 * are not followed (the mapping they name is checked where it is written).
 */
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, Node } from 'yaml';
import { quoteKey } from './quote';

export interface YamlDuplicateKey {
  /** The path of the duplicate key, as validation errors write it (`models[3].profiles[0].batch`). */
  readonly path: string;
  /** Character offsets of the duplicate and of the first occurrence. */
  readonly offset: number;
  readonly firstOffset: number;
}

interface Visit {
  readonly node: unknown;
  readonly parent?: Visit;
  /** How `node` hangs off its parent: a key (of a mapping) or an index (of a sequence). */
  readonly via?: string | number;
}

/** The first duplicate key of a parsed document (depth first, in document order), or undefined. */
export function findYamlDuplicateKey(doc: Document): YamlDuplicateKey | undefined {
  const stack: Visit[] = [{ node: doc.contents }];
  while (stack.length > 0) {
    const at = stack.pop()!;
    const node = at.node;
    if (isAlias(node) || !node) continue;
    const children: Visit[] = [];
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        if (isScalar(key)) {
          const name = String(key.value);
          const first = seen.get(name);
          if (first) {
            return { path: pathOf(at, name), offset: key.range?.[0] ?? 0, firstOffset: first.range?.[0] ?? 0 };
          }
          seen.set(name, key);
          children.push({ node: pair.value, parent: at, via: name });
        } else {
          children.push({ node: pair.key, parent: at, via: '?' }, { node: pair.value, parent: at, via: '?' });
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => children.push({ node: item, parent: at, via: i }));
    }
    // depth first, in document order
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return undefined;
}

/** `models[3].profiles[0].batch`, keys quoted and bounded where they are not plain (`quoteKey`). */
function pathOf(at: Visit, key: string): string {
  const parts: (string | number)[] = [key];
  for (let v: Visit | undefined = at; v && v.via !== undefined; v = v.parent) parts.push(v.via);
  let out = '';
  for (const p of parts.reverse()) {
    if (typeof p === 'number') {
      out += `[${p}]`;
      continue;
    }
    const k = quoteKey(p);
    out += k.startsWith('[') || !out ? k : `.${k}`;
  }
  return out;
}
