import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCompileCache, startCompileCache } from '../../src/cli/compile-cache.ts';

describe('compile cache', () => {
  it('a directory that cannot be created leaves the process without a cache, silently', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-cc-'));
    try {
      const file = join(dir, 'a-file');
      await writeFile(file, '');
      // Under a regular file: no directory can be made there, whoever runs the test.
      assert.equal(startCompileCache(join(file, 'cache')), constants.compileCacheStatus.FAILED);
      assert.doesNotThrow(() => saveCompileCache());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
