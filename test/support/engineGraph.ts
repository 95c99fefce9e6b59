/**
 * The engine's view of a recorded stack, for tests: its dependency graph and its delete order,
 * computed the way pulumi/pulumi v3.248.0 does.
 *
 * - A resource depends on its dependencies (explicit and through inputs), its parent and its
 *   `deletedWith` target (pkg/resource/graph/dependency_graph.go, DependenciesOf).
 * - Deletes run in antichains: repeatedly take every condemned resource none of whose
 *   dependencies is still condemned, then reverse the list, so a resource goes only after
 *   everything that depends on it (pkg/resource/deploy/step_generator.go, ScheduleDeletes); the
 *   executor runs one antichain to completion before the next (deployment_executor.go).
 * - When a delete fails, the executor holds back the failed resource's transitive dependencies
 *   (deployment_executor.go, erroredDeps), so they are still there for the retry.
 * - A delete is skipped, with no provider call, when the resource's `deletedWith` target is being
 *   deleted in the same operation (step.go, DeleteStep.Apply / isDeletedWith).
 */
import type { RecordedResource } from "../../tools/mockCloud";

export class EngineGraph {
  private readonly byUrn: Map<string, RecordedResource>;

  constructor(readonly resources: readonly RecordedResource[]) {
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
  }

  get(urn: string): RecordedResource {
    const found = this.byUrn.get(urn);
    if (!found) throw new Error(`no recorded resource ${urn}`);
    return found;
  }

  /** What DependenciesOf returns: dependencies, parent and deletedWith, among recorded ones. */
  dependenciesOf(r: RecordedResource): string[] {
    return [...new Set([...r.dependencies, r.parentUrn, r.deletedWith])].filter(
      (urn) => urn !== "" && this.byUrn.has(urn),
    );
  }

  /** Every URN `r` depends on, transitively. */
  transitiveDependencies(r: RecordedResource): Set<string> {
    const seen = new Set<string>();
    const stack = [r.urn];
    while (stack.length > 0) {
      for (const dep of this.dependenciesOf(this.get(stack.pop()!))) {
        if (!seen.has(dep)) {
          seen.add(dep);
          stack.push(dep);
        }
      }
    }
    return seen;
  }

  /** ScheduleDeletes for the condemned URNs: the antichains in the order they run. */
  deleteOrder(condemned: Iterable<string> = this.byUrn.keys()): string[][] {
    const left = new Set(condemned);
    const chains: string[][] = [];
    while (left.size > 0) {
      const chain = [...left].filter((urn) =>
        this.dependenciesOf(this.get(urn)).every((dep) => !left.has(dep)),
      );
      if (chain.length === 0) throw new Error("the dependency graph has a cycle");
      for (const urn of chain) left.delete(urn);
      chains.push(chain);
    }
    return chains.reverse();
  }

  /** Antichain index of each condemned URN in deleteOrder. */
  deleteBatch(condemned?: Iterable<string>): Map<string, number> {
    const batch = new Map<string, number>();
    this.deleteOrder(condemned).forEach((chain, i) => chain.forEach((urn) => batch.set(urn, i)));
    return batch;
  }

  /** True when deleting `r` as part of `condemned` would call its provider (not skipped). */
  deleteRuns(r: RecordedResource, condemned: ReadonlySet<string>): boolean {
    return !(r.deletedWith !== "" && condemned.has(r.deletedWith));
  }
}
