// The commit the bundles bake in (scripts/source-commit.cjs): this checkout's, with `-dirty` when it
// has changes.
import { sourceCommit as commitOrNull } from '../../scripts/source-commit.cjs';

export const sourceCommit = (): string => {
  const commit = commitOrNull();
  if (!commit) throw new Error('this checkout is not a git checkout: its commit cannot be told');
  return commit;
};
