// Worker-thread entry for the mask workers: registers tsx so the TypeScript worker runs without a
// build step, whether the parent process runs under tsx, vitest or plain node.
import { register } from 'tsx/esm/api';

register();
await import('./mask-worker.ts');
