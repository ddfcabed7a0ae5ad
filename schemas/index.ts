import { fileURLToPath } from 'node:url';

/** Absolute path of the folder holding the shipped ViewDefinitions (one `<view name>.json` per table). */
export const shippedViewsDir: string = fileURLToPath(new URL('./views/', import.meta.url));
