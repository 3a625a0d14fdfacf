#!/usr/bin/env node
// Starling's command-line entry: runs the TypeScript sources directly through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
