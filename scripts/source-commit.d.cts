/** The commit a build comes from (`1a2b3c4d5e6f`, `-dirty` with changes); null outside git. */
export declare function sourceCommit(): string | null;
