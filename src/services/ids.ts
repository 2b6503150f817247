export { isUuid } from '../domain/identifiers.ts';
