/**
 * `make()`, computed on the first call and shared by the file's tests after it.
 *
 * For fixtures that cost solver or rendering time (a plan of an example fleet, a rendered platform, a Pulumi
 * program run) that several tests read and none changes: the planner and the renderers are deterministic (the
 * determinism tests, e.g. test/planner-replan.test.ts and test/k8s-platform-cold.test.ts, prove it), so one
 * computation shows what identical ones would, and each test still makes its own assertions on it.
 */
export function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}
