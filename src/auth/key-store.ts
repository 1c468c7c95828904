import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { EMPTY_KEY_TABLE, type KeyTable, parseKeysFile, readKeysFile } from './keys-file.js';

// The keys file as the gateway holds it: read once at start (a bad file stops the start, with the
// reason), then re-read on `reload()` (SIGHUP, see src/main.ts) and whenever the file changes. A
// reload that fails keeps the last good table and reports one line. The folder is watched, not the
// file, so an editor or deploy tool that replaces the file by renaming a new one over it is seen too.

export interface KeyStore {
  table(): KeyTable;
  /** Re-reads the file: true when the new table is in use, false when the old one was kept. */
  reload(): Promise<boolean>;
  /** Called after each successful reload (the identity cache is dropped). */
  onChange(listener: () => void): void;
  close(): void;
}

export interface KeyStoreDeps {
  path: string | undefined;
  /** Told when a reload fails (once while the file stays bad the same way); the reason never holds key material. */
  onReloadFailed?: (reason: string) => void;
  onReloaded?: (keys: number) => void;
  /** Changes closer together than this are read once (default 50 ms). */
  debounceMs?: number;
}

export class KeysFileError extends Error {
  override readonly name = 'KeysFileError';
}

export function createKeyStore(deps: KeyStoreDeps): KeyStore {
  const { path } = deps;
  const listeners: Array<() => void> = [];
  if (!path) {
    return { table: () => EMPTY_KEY_TABLE, reload: async () => true, onChange() {}, close() {} };
  }
  let current: KeyTable;
  try {
    current = parseKeysFile(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new KeysFileError(`MARKETGRAPH_API_KEYS_FILE ${path}: ${reason(error)}`);
  }
  let reading: Promise<boolean> | undefined;
  let queued: Promise<boolean> | undefined;
  /** The last failure reported: a file that stays bad (a SIGHUP and a change event) is reported once. */
  let reported: string | undefined;
  const readOnce = () =>
    readKeysFile(path).then(
      (table) => {
        reported = undefined;
        current = table;
        for (const listener of listeners) listener();
        deps.onReloaded?.(table.byHash.size);
        return true;
      },
      (error: unknown) => {
        const line = `MARKETGRAPH_API_KEYS_FILE ${path}: ${reason(error)}; keeping the keys loaded before`;
        if (line !== reported) deps.onReloadFailed?.(line);
        reported = line;
        return false;
      },
    );
  const reload = (): Promise<boolean> => {
    if (!reading) {
      reading = readOnce().finally(() => {
        reading = undefined;
      });
      return reading;
    }
    // The read in progress may have started before the file this caller means was written: read again
    // once it is done (callers meanwhile share that one read).
    queued ??= reading.then(() => {
      queued = undefined;
      return reload();
    });
    return queued;
  };

  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), deps.debounceMs ?? 50);
      timer.unref();
    });
    watcher.on('error', () => undefined);
  } catch {
    // A folder that cannot be watched: SIGHUP still reloads.
  }

  return {
    table: () => current,
    reload,
    onChange: (listener) => listeners.push(listener),
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

function reason(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code === 'ENOENT' ? 'no such file' : `cannot read it (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
