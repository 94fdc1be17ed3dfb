// The SSH key `start` hands the Azure bastion and runners (terraform's bastion_ssh_public_key): it
// must be a public key. A private key given by mistake would be written into the tfvars file and
// sent to Azure, so the file is checked before anything deploys, and its content is never printed.
import { readFileSync, statSync } from 'node:fs';
import { CliError } from './errors';

/** Key types OpenSSH writes to a .pub file (ssh-keygen -t ed25519, rsa, ecdsa, ed25519-sk, ecdsa-sk). */
export const SSH_PUBLIC_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** No public key line comes near this; a bigger file is something else (and is not read whole). */
const MAX_BYTES = 16 * 1024;

const LINE = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?:[ \t]+[^\r\n]*)?$/;

/**
 * True for one OpenSSH public key line: `<type> <base64 key> [comment]`, whose base64 key starts
 * with its own type name (as every OpenSSH key blob does), so a pasted fragment does not pass.
 */
export function isSshPublicKey(text: string): boolean {
  const m = LINE.exec(text.trim());
  if (!m) return false;
  const [, type = '', blob = ''] = m;
  if (!SSH_PUBLIC_KEY_TYPES.includes(type)) return false;
  const bytes = Buffer.from(blob, 'base64');
  return (
    bytes.length > 4 + type.length &&
    bytes.readUInt32BE(0) === type.length &&
    bytes.toString('latin1', 4, 4 + type.length) === type
  );
}

const PRIVATE = /PRIVATE KEY|PuTTY-User-Key-File|^Private-Lines:/m;

/**
 * The public key line in `file`, or a CliError that names the file, says why it is refused and
 * what to pass instead. `flag` is how the file was chosen, for the message.
 */
export function readSshPublicKey(file: string, flag: string): string {
  const stat = statSync(file);
  if (!stat.isFile())
    throw new CliError(`${file} (${flag}) is not a file: pass the .pub file of your SSH key`);
  const text = stat.size > MAX_BYTES ? '' : readFileSync(file, 'utf8');
  if (text && isSshPublicKey(text)) return text.trim();
  const refused = `${file} (${flag}) does not look like an SSH public key`;
  const nothing = 'Nothing was launched.';
  if (PRIVATE.test(text)) {
    const pub = file.endsWith('.pub') ? 'the .pub file ssh-keygen wrote beside it' : `${file}.pub`;
    throw new CliError(
      `${refused}: it holds a PRIVATE key, which must never leave this machine. Pass its public key instead: ${pub} ` +
        `(\`ssh-keygen -y -f ${file}\` prints it if the .pub file is lost). ${nothing}`,
    );
  }
  const ssh2 = /^---- BEGIN SSH2 PUBLIC KEY ----/m.test(text)
    ? ` It is in the SSH2 (RFC 4716) format: \`ssh-keygen -i -f ${file}\` converts it.`
    : '';
  throw new CliError(
    `${refused}: it should hold one line such as \`ssh-ed25519 AAAAC3Nza... you@host\` ` +
      `(types: ${SSH_PUBLIC_KEY_TYPES.join(', ')}).${ssh2} Pass the .pub file of your key, e.g. ~/.ssh/id_ed25519.pub, ` +
      `or make one with \`ssh-keygen -t ed25519\`. ${nothing}`,
  );
}
