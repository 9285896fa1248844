import type { Command } from 'commander';
import { parsePositive } from './arg-parsers.js';
import type { Output } from './cli-io.js';

/** The paging flags of every list command. */
export interface PageFlags {
  limit?: string;
  all?: boolean;
  pageToken?: string;
}

/** Default `--limit`. */
export const DEFAULT_LIMIT = 50;
/** The API's largest page. */
const MAX_PAGE = 1_000;

/** Adds `--limit`, `--all` and `--page-token` to a list command. */
export function addPagingFlags(cmd: Command): Command {
  return cmd
    .option('--limit <n>', `show at most n (default ${DEFAULT_LIMIT})`)
    .option('--all', 'follow every page')
    .option('--page-token <token>', 'continue where a previous list stopped');
}

/** One page as a list RPC answers it. */
export interface Page<T> {
  items: T[];
  next: string;
}

/**
 * Calls `fetch` page by page from `--page-token`: until the last page with `--all`,
 * else until `--limit` items (default 50) were read. Returns them and the token to
 * continue from ("" when nothing is left).
 */
export async function fetchPages<T>(fetch: (pageSize: number, pageToken: string) => Promise<Page<T>>, f: PageFlags): Promise<Page<T>> {
  const limit = f.all ? Number.POSITIVE_INFINITY : f.limit !== undefined ? parsePositive(f.limit, '--limit') : DEFAULT_LIMIT;
  const items: T[] = [];
  let token = f.pageToken ?? '';
  do {
    const page = await fetch(Math.min(MAX_PAGE, limit - items.length), token);
    items.push(...page.items.slice(0, limit - items.length));
    token = page.next;
  } while (token !== '' && items.length < limit);
  return { items, next: token };
}

/** In table output, says on stderr how to see more when a list stopped at its limit. */
export function hintMore(stderr: Output, next: string): void {
  if (next) stderr.write(`(more: --page-token ${next}, or --all)\n`);
}
