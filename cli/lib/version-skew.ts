// Which build of Benchfleet answers at an API, beside this checkout's: the CLI and a deployment are
// updated apart (a teammate's deploy, a `git pull` since), and a field or status one side does not
// know is then read wrongly. The API sends its build in every answer (VERSION_HEADER); a bundle has
// its commit in it (scripts/source-commit.cjs), and so does this checkout.
import { version } from '../../package.json';
import { sourceCommit } from '../../scripts/source-commit.cjs';

/** This checkout's build, as a bundle of it would name itself: `0.1.0+1a2b3c4d5e6f[-dirty]`. */
export function checkoutVersion(): string {
  const commit = sourceCommit();
  return commit ? `${version}+${commit}` : version;
}

/** An API's build and this checkout's, when they differ. */
export interface OtherBuild {
  api: string;
  checkout: string;
}

/**
 * The API's build beside this checkout's when they differ; undefined when they are the same or
 * cannot be compared: an API that names no commit (local mode runs this checkout's sources; an API
 * deployed before it sent its build), or a checkout outside git. `-dirty` (changes beside the
 * commit, a run config edited in the checkout as often as code) tells nothing either way: a build
 * differs only by its commit.
 */
export function otherBuild(apiVersion: string | undefined): OtherBuild | undefined {
  if (!apiVersion?.includes('+')) return undefined;
  const checkout = checkoutVersion();
  const clean = (v: string): string => v.replace(/-dirty$/, '');
  if (!checkout.includes('+') || clean(checkout) === clean(apiVersion)) return undefined;
  return { api: apiVersion, checkout };
}

/** `it runs Benchfleet A, and this checkout is B`, for messages that have named the API already. */
export const buildsWords = (b: OtherBuild): string =>
  `it runs Benchfleet ${b.api}, and this checkout is ${b.checkout}`;
