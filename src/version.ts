import { readFileSync } from 'node:fs';

// src/ under tsx and dist/ when built are both one level below package.json.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
