/** Types of patches/postgres.mjs (plain JavaScript, so that it runs under node_modules). */
export declare const patchedVersion: string;
export declare function patchConnectionSource(source: string, file: string): string;
export declare function isPatched(source: string): boolean;
export declare function postgresRoot(): string;
