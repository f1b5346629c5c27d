/**
 * NetworkPolicy evaluation as Kubernetes defines it (kubernetes/website `content/en/docs/concepts/services-networking/
 * network-policies.md`; API `networking.k8s.io/v1` NetworkPolicySpec):
 *
 * - a pod is isolated for ingress (egress) when some policy in its namespace selects it and lists `Ingress`
 *   (`Egress`) in `policyTypes`; an isolated pod accepts only what the union of those policies' rules allows, a pod
 *   that is not isolated accepts everything;
 * - a connection needs both: the source's egress allows it and the destination's ingress allows it;
 * - a rule with no `from`/`to` matches every peer, with no `ports` every port;
 * - a peer with `podSelector` only selects pods of the policy's namespace, with `namespaceSelector` only every pod of
 *   the selected namespaces, with both the selected pods of the selected namespaces; `ipBlock` peers are outside the
 *   cluster and never match a pod here. Every namespace carries the label `kubernetes.io/metadata.name`.
 */

export interface PodRef {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Whether a LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) selects these labels. */
export function selects(selector: any, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function peerMatches(peer: any, policyNamespace: string, pod: PodRef): boolean {
  if (peer.ipBlock !== undefined) return false;
  const nsLabels = { 'kubernetes.io/metadata.name': pod.namespace };
  if (peer.namespaceSelector === undefined) return pod.namespace === policyNamespace && selects(peer.podSelector, pod.labels);
  if (!selects(peer.namespaceSelector, nsLabels)) return false;
  return peer.podSelector === undefined || selects(peer.podSelector, pod.labels);
}

function portMatches(ports: any[] | undefined, port: number): boolean {
  return (
    ports === undefined ||
    ports.length === 0 ||
    ports.some((p) => (p.protocol ?? 'TCP') === 'TCP' && (p.port === undefined || p.port === port))
  );
}

function side(objs: any[], pod: PodRef, direction: 'Ingress' | 'Egress', peer: PodRef, port: number): boolean {
  const policies = objs.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      (o.metadata.namespace ?? 'default') === pod.namespace &&
      (o.spec.policyTypes ?? ['Ingress']).includes(direction) &&
      selects(o.spec.podSelector, pod.labels),
  );
  if (policies.length === 0) return true;
  const key = direction === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = direction === 'Ingress' ? 'from' : 'to';
  return policies.some((p) =>
    (p.spec[key] ?? []).some(
      (rule: any) =>
        (rule[peersKey] === undefined || rule[peersKey].some((x: any) => peerMatches(x, pod.namespace, peer))) &&
        portMatches(rule.ports, port),
    ),
  );
}

/** Whether the rendered policies let `from` open TCP `port` on `to`. */
export function networkAllows(objs: any[], from: PodRef, to: PodRef, port: number): boolean {
  return side(objs, from, 'Egress', to, port) && side(objs, to, 'Ingress', from, port);
}
