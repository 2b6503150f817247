// The rule lives in the domain (services suggest names too); the CLI keeps importing it from here.
export { closest, editDistance } from '../domain/closest.ts';
