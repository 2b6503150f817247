import { type ResolveFnOutput, registerHooks } from 'node:module';

/*
 * Node 22 re-reads a package's whole package.json for every ESM file it loads from it, to learn the
 * file's format (getPackageScopeConfig → deserializePackageJSON, which parses "exports" each time).
 * drizzle-orm's package.json is 179 KB of "exports", and a database command loads about 150 of its
 * files: that alone was 210 ms of 450 ms for loading the schema, and `import('src/db/client.ts')` took
 * 1,060–1,100 ms instead of 340–470 ms (3 runs each, this 2-core machine under load).
 *
 * So relative imports between drizzle-orm's ES modules are resolved here, without that lookup: the URL
 * is the specifier against its parent (ESM specifiers name the file, extension included), and the
 * format is "module", which drizzle-orm's "type": "module" makes every .js file of it. Our own imports
 * of drizzle-orm (every schema file has one) are resolved by Node once per specifier and remembered.
 * Everything else goes through Node's resolver unchanged.
 */
const drizzle = '/node_modules/drizzle-orm/';

export function resolveDrizzleFast(): void {
  const packageImports = new Map<string, ResolveFnOutput>();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      if (parent?.includes(drizzle)) {
        if (
          parent.endsWith('.js') &&
          (specifier.startsWith('./') || specifier.startsWith('../')) &&
          specifier.endsWith('.js')
        )
          return { url: new URL(specifier, parent).href, format: 'module', shortCircuit: true };
      } else if (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/')) {
        const key = `${specifier} ${context.conditions.join(',')}`;
        let resolved = packageImports.get(key);
        if (!resolved) {
          resolved = { ...nextResolve(specifier, context), shortCircuit: true };
          packageImports.set(key, resolved);
        }
        return resolved;
      }
      return nextResolve(specifier, context);
    },
  });
}
