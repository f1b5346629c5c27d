/**
 * Keeps a component's fields out of @pulumi/pulumi's walks of output values.
 *
 * Every Output the SDK makes walks its resolved value for unknowns (@pulumi/pulumi 3.248.0 output.ts
 * `containsUnknowns`: every enumerable own property, recursively, once per Output). A value that holds a resource —
 * each object of a `yaml.ConfigGroup` is the value of one (`@pulumi/kubernetes` yaml/yaml.ts parseYamlObject:
 * `id.apply(id => ({ name, resource }))`), and so is any `dependsOn` the SDK merges or gathers — is walked through
 * that resource's parent and providers up to the root component, and from there through every field of every
 * component down again: the whole program, once per Kubernetes object, at `pulumi up` as under the test mocks.
 * A component whose fields are not enumerable ends that walk at itself; the fields read the same.
 */
export function keepOutOfValueWalks<T extends object>(component: T, fields: readonly (keyof T)[]): void {
  for (const field of fields) {
    const d = Object.getOwnPropertyDescriptor(component, field);
    if (d?.enumerable) Object.defineProperty(component, field, { ...d, enumerable: false });
  }
}
