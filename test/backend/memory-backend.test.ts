import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { backendContract } from '../contracts/backend-contract.ts';

// The memory backend keeps its data across close()/open(), so "reopening" is the same instance.
backendContract('memory', async () => {
  const backend = new MemoryBackend();
  return { backend, cleanup: async () => {}, reopen: () => backend };
});
