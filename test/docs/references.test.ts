/**
 * Every reference in docs/ and the README is to something a reader of this repository can open:
 * no material outside the repository (`shared/…`, "seed 003"), and every relative Markdown link
 * names a file that exists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

function markdownFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? markdownFiles(join(dir, entry.name))
      : entry.name.endsWith('.md')
        ? [join(dir, entry.name)]
        : [],
  );
}

const FILES = ['README.md', ...markdownFiles('docs')];

describe('documentation references', () => {
  it('cite nothing outside the repository', () => {
    for (const file of FILES) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      assert.doesNotMatch(text, /\bshared\//, `${file} cites shared/`);
      assert.doesNotMatch(text, /\bseeds? `?0\d\d/i, `${file} cites a seed`);
      assert.doesNotMatch(text, /\bthe seed\b/i, `${file} cites a seed`);
      assert.doesNotMatch(text, /\breference §/, `${file} cites the reference's sections`);
    }
  });

  it('link only to files that exist', () => {
    for (const file of FILES) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = match[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        assert.ok(existsSync(join(ROOT, dirname(file), target)), `${file} links to ${target}, which does not exist`);
      }
    }
  });
});
