// An assembly for the local stack whose archive step fails while `refused` is set, so a test can end
// a run assembly_failed and then let the archive be built again.
import { assemblyStepsFor } from '../../lambdas/adapters/local/assembly-steps';
import { LocalAssembly } from '../../lambdas/adapters/local/local-assembly';
import { AssemblyError } from '../../lambdas/core/errors';
import type { Deps } from '../../lambdas/core/ports';

export interface ArchiveSwitch {
  /** While true, BuildArchive fails with AssemblyError(`why`): a lasting failure, not retried into success. */
  refused: boolean;
  /** The local stack's `assembly` option. */
  assembly: (deps: Deps) => LocalAssembly;
}

export function archiveSwitch(
  why = 'the results bucket refused the upload',
  opts: ConstructorParameters<typeof LocalAssembly>[1] = {},
): ArchiveSwitch {
  const sw: ArchiveSwitch = {
    refused: false,
    assembly: (deps) =>
      new LocalAssembly(() => {
        const steps = assemblyStepsFor(deps);
        return {
          ...steps,
          BuildArchive: async (input) => {
            if (sw.refused) throw new AssemblyError(why);
            return steps.BuildArchive(input);
          },
        };
      }, opts),
  };
  return sw;
}
