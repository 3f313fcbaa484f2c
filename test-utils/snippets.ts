/**
 * Code samples in Markdown are copies of example files that tests run: a fenced block preceded
 * by `<!-- snippet: path/to/file.ts -->` must equal that file's content.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface Snippet {
  file: string;
  markdown: string;
  code: string;
}

export async function readSnippets(markdownPath: string): Promise<Snippet[]> {
  const text = await readFile(markdownPath, 'utf8');
  const snippets: Snippet[] = [];
  const pattern = /<!-- snippet: ([^ ]+) -->\s*```[a-z]*\n([\s\S]*?)```/g;
  for (const match of text.matchAll(pattern)) {
    snippets.push({ file: resolve(dirname(markdownPath), match[1]), markdown: markdownPath, code: match[2] });
  }
  return snippets;
}
