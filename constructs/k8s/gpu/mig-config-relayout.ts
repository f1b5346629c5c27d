/**
 * The safe MIG re-layout procedure as a POSIX shell script. The GPU operator's MIG manager applies the layout
 * named by the node label `nvidia.com/mig.config`, but it only pauses the operator's own pods: user pods that
 * hold a GPU make the change fail. So the node is cordoned and drained first (drain honours PodDisruptionBudgets),
 * protected from Karpenter consolidation while it is empty, relabelled, and uncordoned once the MIG manager
 * reports `nvidia.com/mig.config.state=success`. On `failed` or a timeout the node stays cordoned for a person to look at.
 *
 * Which path where: a node that something replaces does not need the script. Karpenter: change the NodePool's
 * layout (a new content name changes its template) and drift replaces the nodes within the pool's disruption
 * budget. EKS managed node groups (`pulumi up`): a new layout is a new node group. The script is for nodes nothing
 * replaces (static or self-managed nodes), and it relies on names that follow content: the MIG manager acts only
 * when the label value changes, so a layout name never gets new content (NVIDIA/mig-parted v0.15.0, gpu-operator#262).
 */
import { assertLabelValue } from '../common/names';

/** The script for the given mig-parted config names: `relayout.sh NODE LAYOUT [TIMEOUT_SECONDS]`. */
export function relayoutScript(configNames: readonly string[]): string {
  configNames.forEach((n, i) => assertLabelValue(`configNames[${i}]`, n));
  const known = [...configNames].join(' ');
  return `#!/bin/sh
# gpufleet: change the MIG layout of one GPU node safely.
# usage: relayout.sh NODE LAYOUT [TIMEOUT_SECONDS]
#   1. cordon the node and mark it karpenter.sh/do-not-disrupt (an empty node must not be consolidated away)
#   2. drain it (honours PodDisruptionBudgets; DaemonSets stay, the MIG manager pauses the GPU operator's own pods)
#   3. clear nvidia.com/mig.config.state, set nvidia.com/mig.config=LAYOUT
#   4. wait until the MIG manager sets nvidia.com/mig.config.state=success (exit 1 on failed or timeout, node stays cordoned)
#   5. remove the do-not-disrupt mark and uncordon
# Needs kubectl with rights to get/label/annotate/cordon/drain nodes. Environment: DRAIN_TIMEOUT (default 600s).
# Use it for nodes nothing replaces. Karpenter nodes: change the NodePool's layout instead and let drift replace the
# nodes within the disruption budget; EKS managed node groups: a new layout is a new node group. A layout name never
# gets new content (gpufleet names layouts by content), so a node labelled LAYOUT with state success runs LAYOUT.
set -eu
KNOWN_LAYOUTS="${known}"
NODE="\${1:?usage: relayout.sh NODE LAYOUT [TIMEOUT_SECONDS]}"
LAYOUT="\${2:?usage: relayout.sh NODE LAYOUT [TIMEOUT_SECONDS]}"
TIMEOUT="\${3:-900}"
case " $KNOWN_LAYOUTS " in
  *" $LAYOUT "*) ;;
  *) echo "relayout: unknown layout '$LAYOUT'; known: $KNOWN_LAYOUTS" >&2; exit 2 ;;
esac
state() { kubectl get node "$NODE" -o jsonpath='{.metadata.labels.nvidia\\.com/mig\\.config\\.state}'; }
current=$(kubectl get node "$NODE" -o jsonpath='{.metadata.labels.nvidia\\.com/mig\\.config}')
if [ "$current" = "$LAYOUT" ] && [ "$(state)" = "success" ]; then
  echo "relayout: $NODE already runs $LAYOUT"; exit 0
fi
if [ "$current" = "$LAYOUT" ]; then
  # the MIG manager acts on a change of the label; the same value again would wait forever
  echo "relayout: $NODE is labelled $LAYOUT but its state is '$(state)'; \
see the nvidia-mig-manager pod log, or relabel via another layout" >&2; exit 3
fi
echo "relayout: $NODE: $current -> $LAYOUT"
kubectl annotate node "$NODE" karpenter.sh/do-not-disrupt=true --overwrite
kubectl cordon "$NODE"
kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout="\${DRAIN_TIMEOUT:-600s}"
kubectl label node "$NODE" nvidia.com/mig.config.state- >/dev/null 2>&1 || true
kubectl label node "$NODE" "nvidia.com/mig.config=$LAYOUT" --overwrite
waited=0
while :; do
  s=$(state)
  case "$s" in
    success) break ;;
    failed) echo "relayout: MIG manager reports failed on $NODE; node left cordoned (see the nvidia-mig-manager pod log)" >&2; exit 1 ;;
  esac
  if [ "$waited" -ge "$TIMEOUT" ]; then
    echo "relayout: no success after \${TIMEOUT}s (state '$s'); node left cordoned" >&2; exit 1
  fi
  sleep 10; waited=$((waited + 10))
done
kubectl annotate node "$NODE" karpenter.sh/do-not-disrupt-
kubectl uncordon "$NODE"
echo "relayout: $NODE runs $LAYOUT"
`;
}
