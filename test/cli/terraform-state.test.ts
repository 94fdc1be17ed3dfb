// terraform keeps each Azure run's state, with the runner key in the VMs' custom_data, under
// terraform-azure/terraform.tfstate.d, and writes it readable by every user: start and teardown
// make that folder private first, and a folder they cannot change never stops them.
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateTerraformState } from '../../cli/lib/azure-fleet';
import { AZURE_TF_DIR } from '../../lambdas/shared/azure-tfvars';
import { tempDir } from '../helpers/temp-dir';

const stateDir = (root: string): string => join(root, AZURE_TF_DIR, 'terraform.tfstate.d');
const modeOf = (path: string): number => statSync(path).mode & 0o777;

it('makes the folder private, whether it is new or was made open before', () => {
  const fresh = tempDir('bf-tfstate-');
  privateTerraformState(fresh);
  expect(modeOf(stateDir(fresh))).toBe(0o700);

  const open = tempDir('bf-tfstate-');
  mkdirSync(join(stateDir(open), 'run-1'), { recursive: true });
  chmodSync(stateDir(open), 0o755);
  privateTerraformState(open);
  expect(modeOf(stateDir(open))).toBe(0o700);
});

it('warns, and does not throw, when the folder cannot be made private', () => {
  const root = tempDir('bf-tfstate-');
  mkdirSync(join(root, AZURE_TF_DIR), { recursive: true });
  writeFileSync(stateDir(root), 'not a folder');
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(() => privateTerraformState(root)).not.toThrow();
    expect(String(err.mock.calls[0]?.[0])).toMatch(
      /^\[azure\] warning: could not make .*terraform\.tfstate\.d private \(.*EEXIST.*\): the terraform states in it, which hold the runner key, may be readable/,
    );
  } finally {
    err.mockRestore();
  }
});
