// A stand-in for the Rust shell, just rich enough to drive the UI: it keeps a queue, answers
// commands like the real ones (same shapes, same error objects) and emits event batches.
import { emit } from '@tauri-apps/api/event';
import type { AddReport } from '../../src/generated/AddReport';
import type { AppSettings } from '../../src/generated/AppSettings';
import type { ChunkView } from '../../src/generated/ChunkView';
import type { EventBatch } from '../../src/generated/EventBatch';
import type { FileState } from '../../src/generated/FileState';
import type { HistoryEntry } from '../../src/generated/HistoryEntry';
import type { HistoryQuery } from '../../src/generated/HistoryQuery';
import type { QueueTotals } from '../../src/generated/QueueTotals';
import type { HoldReason } from '../../src/generated/HoldReason';
import type { TargetList } from '../../src/generated/TargetList';
import type { UploadSummary } from '../../src/generated/UploadSummary';
import type { UserError } from '../../src/generated/UserError';
import type { TargetInfo } from '../../src/generated/TargetInfo';
import type { TwakeAccountInfo } from '../../src/generated/TwakeAccountInfo';
import type { DropChoice } from '../../src/generated/DropChoice';
import type { WatchBatch } from '../../src/generated/WatchBatch';
import type { WatchedFolder } from '../../src/generated/WatchedFolder';
import { batch } from '../../src/lib/testdata';

const LOCAL_URL = 'http://127.0.0.1:41000/upload';

/** A batch with nothing in it (the shape the shell sends). */
export const emptyBatch = (): EventBatch => batch();

/** A Twake Drive server as the fake shell knows it; errors read as `twake::user_error` writes them. */
export class FakeTwake {
  server = 'https://drive.example.com';
  email = 'alice@example.com';
  password = 'correct horse battery staple';
  /** Answers an HTML page (a web site, not the Twake Drive API). */
  htmlServer = 'https://www.example.com';
  companies = [{ id: 'c1', name: 'Acme' }];
  /** Sub-folder names by folder path ("" is My Drive's root). */
  folders: Record<string, string[]> = { '': ['Photos', 'Reports'], '/Photos': [], '/Reports': ['2026'], '/Reports/2026': [] };
  /** How many files each folder holds (only the count reaches the chooser). */
  files: Record<string, number> = { '/Photos': 3 };
  accounts: TwakeAccountInfo[] = [];
  /** Where the shell keeps sessions when no keyring is reachable; null: in the keyring. */
  sessionFile: string | null = null;
  /** Chosen folders, as the shell's saved targets. */
  saved: { account: string; folder: string }[] = [];
  /** A server that signs in through its organisation's identity provider, in the browser. */
  browserServer = 'https://sso-drive.example.com';
  /** The browser sign-in waiting for the person (`approveBrowser`) or for Cancel. */
  waiting: { resolve: (a: TwakeAccountInfo) => void; reject: (e: UserError) => void; server: string } | null = null;

  /** "Continue": which sign-in the address needs, as `twake_detect` answers. */
  detect(address: string): { server: string; kind: 'password' | 'browser' | 'cozy'; email: string | null } {
    const email = /^[^@\s/:]+@[^@\s/]+$/.test(address) ? address.toLowerCase() : null;
    const base = (email ? `https://${email.split('@')[1]}` : address).replace(/\/+$/, '');
    if (base === this.htmlServer) {
      throw {
        message: `${base} is not a Twake Drive server (neither /internal/services/general/v1/server nor /status answered as Twake Drive does (200 and 404)).`,
        hint: 'Use the address you open Twake Drive at in a browser, like https://drive.example.com.',
        field: 'server',
      };
    }
    if (base === this.browserServer) return { server: base, kind: 'browser', email };
    if (base !== this.server) {
      if (email) {
        throw { message: `Cannot tell from ${email} where its Twake Drive is.`, hint: 'Type the address you open Twake Drive at in a browser, like drive.example.com.', field: 'server' };
      }
      throw { message: `Cannot reach the server ${base} (connection refused).`, hint: 'Check the server address and your network connection, then try again.', field: 'server' };
    }
    return { server: base, kind: 'password', email };
  }

  signInBrowser(server: string): Promise<TwakeAccountInfo> {
    this.waiting?.reject({ message: `The sign-in to ${this.waiting.server} was cancelled.`, hint: 'Press Continue to start it again.' });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, server };
    });
  }

  /** The person finished in the browser: the shell's sign-in answers with the account. */
  approveBrowser(): void {
    const w = this.waiting;
    if (!w) throw new Error('no browser sign-in is waiting');
    this.waiting = null;
    const host = new URL(w.server).host;
    const account: TwakeAccountInfo = {
      name: `${this.email}@${host}`,
      server: w.server,
      email: this.email,
      company_id: this.companies[0].id,
      companies: this.companies,
      signed_out: null,
    };
    this.accounts = [...this.accounts.filter((a) => a.name !== account.name), account];
    w.resolve(account);
  }

  cancelBrowser(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject({ message: `The sign-in to ${w.server} was cancelled.`, hint: 'Press Continue to start it again.' });
  }

  signIn(server: string, email: string, password: string): TwakeAccountInfo {
    if (!/^https?:\/\/[^/\s]+/.test(server)) {
      throw { message: `'${server}' is not a server address: relative URL without a base.`, hint: 'Type the full address, like https://drive.example.com.' };
    }
    const base = server.replace(/\/+$/, '');
    if (base === this.htmlServer) {
      throw {
        message: `${base}/internal/services/console/v1/login is not a Twake Drive server (it answered an HTML page).`,
        hint: 'Use the address you open Twake Drive at in a browser, like https://drive.example.com.',
      };
    }
    if (base !== this.server) {
      throw { message: `Cannot reach the server ${base} (connection refused).`, hint: 'Check the server address and your network connection, then try again.' };
    }
    if (email !== this.email || password !== this.password) {
      throw { message: `${base} refused this email and password (403).`, hint: 'Check the email and the password (it is case-sensitive), then sign in again.' };
    }
    const host = new URL(base).host;
    const account: TwakeAccountInfo = {
      name: `${email}@${host}`,
      server: base,
      email,
      company_id: this.companies[0].id,
      companies: this.companies,
      signed_out: null,
    };
    this.accounts = [...this.accounts.filter((a) => a.name !== account.name), account];
    return this.sessionFile ? { ...account, session_file: this.sessionFile } : account;
  }

  account(name: string): TwakeAccountInfo {
    const a = this.accounts.find((x) => x.name === name);
    if (!a) throw { message: `Not signed in to Twake Drive as ${name}.`, hint: 'Choose "Sign in to Twake Drive…" in the Upload to menu.' };
    if (a.signed_out) throw { message: `Signed out of ${a.server} as ${a.email}.`, hint: 'Sign in again; the queued uploads are kept and continue after that.' };
    return a;
  }

  list(name: string, path: string): { path: string; folders: string[]; files: number } {
    const a = this.account(name);
    const p = path.split('/').filter((s) => s).map((s) => `/${s}`).join('');
    const folders = this.folders[p];
    if (!folders) throw { message: `There is no Drive folder /Drive${p} on ${a.server}.`, hint: 'Choose another folder; it may have been moved or deleted.' };
    return { path: p, folders: [...folders].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())), files: this.files[p] ?? 0 };
  }

  /** "New folder…", answered as the shell does: the parent's listing, or a refusal in words. */
  create(name: string, parent: string, folderName: string): { path: string; folders: string[]; files: number } {
    const p = this.list(name, parent).path;
    const n = folderName.trim();
    if (n === '' || n.includes('/')) {
      throw { message: "A folder name cannot be empty or hold a '/'.", hint: 'Type another name.', field: 'name' };
    }
    if (this.folders[p].includes(n)) {
      const where = ['My Drive', ...p.split('/').filter(Boolean)].join(' › ');
      throw { message: `There is already a folder ${n} in ${where}.`, hint: 'Open it, or choose another name.', field: 'name' };
    }
    this.folders[p] = [...this.folders[p], n];
    this.folders[`${p}/${n}`] = [];
    return this.list(name, p);
  }

  targetId(account: string, folder: string): string {
    return `twake:${account}:/${folder.replace(/^\//, '')}`;
  }

  targets(): TargetInfo[] {
    return this.saved.flatMap(({ account, folder }) => {
      const a = this.accounts.find((x) => x.name === account);
      if (!a) return [];
      const id = this.targetId(account, folder);
      return [{
        id,
        kind: 'twake_drive' as const,
        name: `Twake Drive — ${a.email} — /Drive${folder}`,
        detail: a.signed_out ? `${a.server} · signed out` : a.server,
        engine_label: id,
        removable: true,
        account,
        signed_out: a.signed_out ?? undefined,
      }];
    });
  }
}

export class FakeShell {
  twake = new FakeTwake();
  defaultId = 'local';
  uploads = new Map<number, UploadSummary>();
  chunkMaps = new Map<number, ChunkView[]>();
  nextId = 1;
  /** Every command received, for assertions. */
  calls: { cmd: string; args?: Record<string, unknown> }[] = [];
  /** Commands that should fail, with what they reject with (a UserError, or Tauri's own text). */
  failures = new Map<string, UserError | string>();
  /** What the next "Add files…" returns: files to add and paths that fail. */
  nextPick: { names: string[]; failures: { path: string; reason: string }[] } = {
    names: ['report.pdf', 'holiday.mov', 'notes.txt'],
    failures: [],
  };
  settings: AppSettings = {
    chunk_size: null,
    version: 1,
    parallel_chunks: 3,
    parallel_files: 2,
    bandwidth_limit: 0,
    changed_files: 'fail',
    close_to_tray: true,
    autostart: null,
    notifications: true,
    default_target: 'local',
    saved_targets: [],
    local_server_port: 0,
    watch_ignore: [],
    language: 'system',
    ca_file: '',
    proxy_url: '',
    proxy_user: '',
    pause_on_metered: true,
    pause_on_battery: true,
  };
  /** Why the engine holds the queue (a metered connection, the battery): `setHeld`. */
  held: HoldReason[] = [];
  /** The OS locale's language the shell reports ("en" or "fr"): the harness page's
   * `?system_language=` sets it, as LANG does for the real shell. */
  systemLanguage = 'en';
  /** Files that exist on the fake machine (the certificate authority field checks them). */
  files = new Set<string>(['/etc/ssl/company-ca.pem']);
  /** The OS keyring: proxy passwords by "proxy user@url". */
  keyring = new Map<string, string>();
  /** Resumable.js / Flow.js servers added with "Add a Resumable.js server…". */
  resumable: { url: string; dialect: string }[] = [];
  /** While set, `snapshot` answers only once it resolves. */
  snapshotGate: Promise<void> | null = null;
  /** Watched folders by path, as the shell's `FolderSync` reports them. */
  watched = new Map<string, WatchedFolder>();
  /** What the next "Watch a folder…" picker returns (empty: the person cancelled). */
  nextWatchPick: string[] = ['/home/me/Photos'];
  /** The last drop that held folders, until `answer_drop`. */
  droppedPaths: string[] | null = null;

  targets(): TargetList {
    const twake = this.twake.targets();
    const known =
      this.defaultId === 'local' ||
      twake.some((t) => t.id === this.defaultId) ||
      this.resumable.some((r) => `${r.dialect}:${r.url}` === this.defaultId);
    return {
      default_id: known ? this.defaultId : 'local',
      targets: [
        {
          id: 'local',
          kind: 'local_test_server',
          name: 'Local test server',
          detail: 'Keeps files in /home/me/.local/share/twake-uploader/test-server',
          engine_label: LOCAL_URL,
          removable: false,
        },
        ...this.resumable.map(({ url, dialect }) => ({
          id: `${dialect}:${url}`,
          kind: 'resumable' as const,
          name: new URL(url).host,
          detail: url,
          engine_label: url,
          removable: true,
        })),
        ...twake,
      ],
    };
  }

  /** The target new files go to. */
  current(): TargetInfo {
    const list = this.targets();
    return list.targets.find((t) => t.id === list.default_id) ?? list.targets[0];
  }

  totals(): QueueTotals {
    const all = [...this.uploads.values()];
    return {
      files: all.length,
      files_done: all.filter((u) => u.state.state === 'done').length,
      files_failed: all.filter((u) => u.state.state === 'failed').length,
      bytes_total: all.reduce((s, u) => s + u.size, 0),
      bytes_acked: all.reduce((s, u) => s + u.acked_bytes, 0),
      bytes_per_sec: 0,
      eta_secs: null,
      offline: false,
      requests_in_flight: 0,
      requests_allowed: 0,
      follows_link: false,
      held: [...this.held],
    };
  }

  /** The machine's conditions hold the queue for `reasons` (none: it continues), as the shell
   * tells the engine; the window hears it in the totals. */
  setHeld(reasons: HoldReason[]): Promise<void> {
    this.held = reasons;
    return this.push({ ...emptyBatch(), totals: this.totals() });
  }

  /** Queues files named `names` (sizes grow with the index) and announces them. */
  add(names: string[], size = 24_000_000, chunkSize = 1_000_000): UploadSummary[] {
    const added: UploadSummary[] = [];
    for (const name of names) {
      const id = this.nextId++;
      const u: UploadSummary = {
        id,
        path: `/home/me/Documents/${name}`,
        relative_path: name,
        target: this.current().engine_label ?? LOCAL_URL,
        size,
        chunk_size: chunkSize,
        total_chunks: Math.max(1, Math.floor(size / chunkSize)),
        state: { state: 'queued' },
        acked_bytes: 0,
        bytes_per_sec: 0,
        eta_secs: null,
        // As the engine says: Twake Drive targets make share links.
        share_links: this.current().kind === 'twake_drive',
      };
      this.uploads.set(id, u);
      added.push(u);
    }
    void this.push({ ...emptyBatch(), added, totals: this.totals() });
    return added;
  }

  /**
   * A second launch with `names` on its command line, as the real shell hands it over: the
   * files are queued in one batch and the window is told what was added.
   */
  async handOver(names: string[]): Promise<void> {
    const added = this.add(names);
    await emit('files-added', { added: added.length, target: this.current().name, failures: [], error: null });
  }

  /** `n` files named file-1 … file-n in one batch (the 10,000-row tests). */
  addMany(n: number): void {
    this.add(Array.from({ length: n }, (_, i) => `folder-${Math.floor(i / 100)}/file-${i + 1}.bin`));
  }

  /** The upload history, newest first, as the engine's store keeps it. */
  history: HistoryEntry[] = [];
  /** What "Export CSV…" answers: `true` as if a file was chosen, `false` as if cancelled. */
  exportChooses = true;

  /** Like the store: a final state writes (or rewrites) the upload's history line. */
  private remember(u: UploadSummary, state: FileState, at = Math.floor(Date.now() / 1000)): void {
    const result =
      state.state === 'done' || state.state === 'skipped' || state.state === 'cancelled'
        ? { result: state.state }
        : state.state === 'failed'
          ? { result: 'failed' as const, kind: state.kind }
          : null;
    if (!result) return;
    this.history = this.history.filter((h) => h.upload_id !== u.id);
    this.history.unshift({
      upload_id: u.id,
      name: u.relative_path.split('/').at(-1) ?? u.relative_path,
      relative_path: u.relative_path,
      size: u.size,
      target: u.target,
      finished_at: at,
      reason: 'reason' in state ? state.reason : null,
      link: null,
      ...result,
    } as HistoryEntry);
  }

  /** `n` history lines, as after a long time of use (the virtualised list's tests). */
  addHistory(n: number): void {
    const lines: HistoryEntry[] = Array.from({ length: n }, (_, i) => ({
      upload_id: 100_000 + i,
      name: `file-${i + 1}.bin`,
      relative_path: `archive/file-${i + 1}.bin`,
      size: 1000 + i,
      target: LOCAL_URL,
      finished_at: 1_764_000_000 + i * 60,
      reason: null,
      link: null,
      result: 'done',
    }));
    this.history = [...lines.reverse(), ...this.history];
  }

  private historyMatching(search: string): HistoryEntry[] {
    const s = search.trim().toLowerCase();
    return s === '' ? this.history : this.history.filter((h) => h.relative_path.toLowerCase().includes(s) || h.target.toLowerCase().includes(s));
  }

  setState(id: number, state: FileState): Promise<void> {
    const u = this.uploads.get(id);
    if (u) u.state = state;
    if (u) this.remember(u, state);
    return this.push({ ...emptyBatch(), files: [{ id, state }], totals: this.totals() });
  }

  setProgress(id: number, acked: number, speed: number, eta: number | null): Promise<void> {
    const u = this.uploads.get(id);
    if (!u) return Promise.resolve();
    u.acked_bytes = acked;
    return this.push({
      ...emptyBatch(),
      progress: [{ id, acked_bytes: acked, total_bytes: u.size, bytes_per_sec: speed, eta_secs: eta }],
      totals: this.totals(),
    });
  }

  /** Changes a watched folder (adding it if new) and sends the shell's watch batch. */
  setFolder(path: string, over: Partial<WatchedFolder> = {}): Promise<void> {
    const f: WatchedFolder = {
      path,
      target: 'Local test server',
      state: { state: 'scanning', seen: 0, total: 0 },
      pending: 0,
      files: 0,
      uploaded: 0,
      moved: 0,
      last_sync: null,
      ...this.watched.get(path),
      ...over,
    };
    this.watched.set(path, f);
    return this.pushWatch({ folders: [f], removed: [], resync: false });
  }

  pushWatch(b: WatchBatch): Promise<void> {
    return emit('watch-batch', b);
  }

  /** A drop of `folders` (and `files` plain files) as the shell announces it: it keeps the
   * paths and asks the window what to do. */
  async dropFolders(folders: string[], files: string[] = []): Promise<void> {
    this.droppedPaths = [...folders, ...files];
    await emit('tauri://drag-drop', { paths: this.droppedPaths, position: { x: 1, y: 1 } });
    await emit('folders-dropped', {
      folders: folders.map((p) => p.split('/').filter(Boolean).at(-1) ?? p),
      files: files.length,
    });
  }

  private async answerDrop(choice: DropChoice): Promise<void> {
    const paths = this.droppedPaths;
    this.droppedPaths = null;
    if (!paths || choice === 'cancel') return;
    const isFolder = (p: string) => !/\.[a-z0-9]+$/i.test(p);
    const once = choice === 'upload_once' ? paths : paths.filter((p) => !isFolder(p));
    if (once.length > 0) {
      const added = this.add(once.map((p) => (isFolder(p) ? `${p.split('/').at(-1)}/inside.bin` : p.split('/').at(-1) ?? p)));
      await emit('files-added', { added: added.length, target: 'Local test server', failures: [], error: null });
    }
    if (choice === 'watch') for (const p of paths.filter(isFolder)) await this.setFolder(p);
  }

  /** Emits any event, as the shell or Tauri itself would (drag-and-drop events). */
  emit(event: string, payload: unknown): Promise<void> {
    return emit(event, payload);
  }

  push(given: Partial<EventBatch>): Promise<void> {
    // The shell always sends every field; tests may give only the ones they care about.
    const batch = { ...emptyBatch(), ...given };
    for (const c of batch.chunks) {
      const map = this.chunkMaps.get(c.id);
      if (map?.[c.chunk - 1]) map[c.chunk - 1] = { ...map[c.chunk - 1], state: c.state };
    }
    return emit('queue-batch', batch);
  }

  chunks(id: number): ChunkView[] {
    const u = this.uploads.get(id);
    if (!u) throw { message: `no upload with id ${id}`, hint: 'It was probably cleared from the list already.' };
    let map = this.chunkMaps.get(id);
    if (!map) {
      map = Array.from({ length: u.total_chunks }, (_, i) => ({
        number: i + 1,
        start: i * u.chunk_size,
        end: i + 1 === u.total_chunks ? u.size : (i + 1) * u.chunk_size,
        state: { state: 'pending' },
        attempts: 0,
        last_answer: '',
      }));
      this.chunkMaps.set(id, map);
    }
    return map;
  }

  firstOtherThan(id: number): number | null {
    return [...this.uploads.keys()].find((other) => other !== id) ?? null;
  }

  /** Like the engine: `id` goes just before `before` (or last), and the new order is sent. */
  move(id: number, before: number | null): Promise<void> {
    for (const known of [id, before]) {
      if (known !== null && !this.uploads.has(known)) {
        throw { message: `no upload with id ${known}`, hint: 'It was probably cleared from the list already.' };
      }
    }
    if (before === id) return Promise.resolve();
    const moved = this.uploads.get(id)!;
    const line = [...this.uploads.values()].filter((u) => u.id !== id);
    const at = before === null ? line.length : line.findIndex((u) => u.id === before);
    line.splice(at, 0, moved);
    this.uploads = new Map(line.map((u) => [u.id, u]));
    return this.push({ ...emptyBatch(), order: line.map((u) => u.id) });
  }

  async handle(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ cmd, args });
    const failure = this.failures.get(cmd);
    if (failure) throw failure;
    const id = args?.id as number;
    switch (cmd) {
      case 'ui_ready':
        return null;
      case 'snapshot': {
        // Taken now, answered when the test lets it (batches may overtake it, as in the shell).
        const snapshot = { uploads: [...this.uploads.values()].map((u) => ({ ...u })), totals: this.totals() };
        await this.snapshotGate;
        return snapshot;
      }
      case 'chunks':
        return this.chunks(id);
      case 'pause':
        await this.setState(id, { state: 'paused' });
        return null;
      case 'resume':
        await this.setState(id, { state: 'queued' });
        return null;
      case 'cancel':
        await this.setState(id, { state: 'cancelled' });
        return null;
      case 'retry':
        await this.setState(id, { state: 'queued' });
        return null;
      case 'pause_all':
      case 'resume_all':
      case 'retry_all_failed':
      case 'show_in_folder':
      case 'show_test_server_folder':
        return null;
      case 'share_link': {
        const u = this.uploads.get(id);
        if (!u?.share_links || u.state.state !== 'done') {
          throw { message: 'This file cannot have a share link yet.', hint: 'Wait until it is uploaded to Twake Drive.' };
        }
        return `https://drive.example.com/shared/1111111111111111111112/drive/11111111111111111111${id}a/t/token${id}`;
      }
      case 'clear_finished': {
        const gone = [...this.uploads.values()].filter((u) => u.state.state === 'done').map((u) => u.id);
        gone.forEach((g) => this.uploads.delete(g));
        await this.push({ ...emptyBatch(), removed: gone, totals: this.totals() });
        return gone.length;
      }
      case 'pick_files':
      case 'pick_folders': {
        const added = this.add(this.nextPick.names);
        const report: AddReport = {
          added: added.length,
          target: this.current().name,
          failures: this.nextPick.failures,
          error: null,
        };
        return report;
      }
      case 'targets':
      case 'remove_target':
        return this.targets();
      case 'add_resumable_target': {
        const url = args?.url as string;
        // As `check_upload_url`: a full http(s) address, or it says so.
        if (!/^https?:\/\/[^/\s]+/.test(url)) {
          throw { message: `${url} is not a valid upload address: relative URL without a base`, hint: 'Type the full address of the upload endpoint, like https://example.com/upload.' };
        }
        this.resumable.push({ url, dialect: args?.dialect as string });
        this.defaultId = `${args?.dialect}:${url}`;
        return this.targets().targets.find((t) => t.id === this.defaultId);
      }
      case 'set_default_target':
        this.defaultId = args?.id as string;
        return this.targets();
      case 'twake_sign_in':
        return this.twake.signIn(args?.server as string, args?.email as string, args?.password as string);
      case 'twake_detect':
        return this.twake.detect(args?.address as string);
      case 'twake_sign_in_browser':
        return this.twake.signInBrowser(args?.server as string);
      case 'twake_cancel_sign_in':
        this.twake.cancelBrowser();
        return null;
      case 'twake_choose_company': {
        const a = this.twake.account(args?.account as string);
        a.company_id = args?.companyId as string;
        return a;
      }
      case 'twake_accounts':
        return this.twake.accounts;
      case 'twake_folders':
        return this.twake.list(args?.account as string, args?.path as string);
      case 'twake_create_folder':
        return this.twake.create(args?.account as string, args?.parent as string, args?.name as string);
      case 'twake_choose_folder': {
        const account = args?.account as string;
        const folder = this.twake.list(account, args?.folder as string).path;
        if (!this.twake.saved.some((s) => s.account === account && s.folder === folder)) this.twake.saved.push({ account, folder });
        this.defaultId = this.twake.targetId(account, folder);
        return this.targets().targets.find((t) => t.id === this.defaultId);
      }
      case 'twake_sign_out': {
        const account = args?.account as string;
        this.twake.accounts = this.twake.accounts.filter((a) => a.name !== account);
        this.twake.saved = this.twake.saved.filter((s) => s.account !== account);
        return this.targets();
      }
      case 'settings':
        return this.settings;
      case 'save_settings': {
        const s = args?.settings as AppSettings;
        // Tauri itself refuses what does not deserialise into the Rust type, with its own text.
        for (const [k, v] of Object.entries(s)) {
          // `chunk_size` is an Option in the shell: null is "the target's own"; an emptied
          // count or speed limit takes its default (the shell's `null_is_default`).
          const nullable = ['chunk_size', 'autostart', 'parallel_chunks', 'parallel_files', 'bandwidth_limit'];
          if (nullable.includes(k) && v === null) continue;
          if (typeof v === 'number' || v === null) {
            if (v === null || v < 0 || !Number.isInteger(v)) {
              throw `invalid args \`settings\` for command \`save_settings\`: invalid type: ${v === null ? 'null' : `floating point \`${v}\``}, expected u64 (field ${k})`;
            }
          }
        }
        if (s.parallel_chunks < 0 || s.parallel_chunks > 16) {
          throw { message: 'Chunks sent at once must be a whole number from 0 to 16.', hint: 'Type a number in that range.', field: 'parallel_chunks' };
        }
        // As the shell's network.rs: the certificate file must be there, the proxy address plain.
        if (s.ca_file.trim() && !this.files.has(s.ca_file.trim())) {
          throw {
            message: `The extra certificate authority file ${s.ca_file.trim()} cannot be used: No such file or directory (os error 2).`,
            hint: 'Choose the PEM file your administrator gave you (it holds -----BEGIN CERTIFICATE----- lines), or empty the field.',
            field: 'ca_file',
          };
        }
        if (s.proxy_url.includes('@')) {
          throw { message: 'The proxy address cannot be used: it carries a user name or password.', hint: 'Type it as http://host:port.', field: 'proxy_url' };
        }
        this.settings = s;
        return s;
      }
      case 'save_proxy_password': {
        const key = `proxy ${args?.user as string}@${args?.url as string}`;
        if (args?.password) this.keyring.set(key, args.password as string);
        else this.keyring.delete(key);
        return null;
      }
      case 'move_to_front':
      case 'reorder':
        await this.move(id, cmd === 'reorder' ? (args?.before as number | null) : this.firstOtherThan(id));
        return null;
      case 'watched_folders':
        return {
          folders: [...this.watched.values()],
          builtin_ignore: ['*.part', '*.crdownload', '*.tmp', '~$*', '.~lock.*#', '.DS_Store', 'Thumbs.db', '.git/'],
        };
      case 'watch_pick':
        for (const p of this.nextWatchPick) await this.setFolder(p);
        return null;
      case 'pause_watch': {
        const path = args?.path as string;
        const f = this.watched.get(path);
        if (!f) throw { message: `${path} is not a watched folder (\`twake-upload watch --list\` shows them)`, hint: 'It was probably removed already.' };
        // Resuming rescans the folder, as the real folder loop does.
        await this.setFolder(path, { state: args?.paused ? { state: 'paused' } : { state: 'scanning', seen: 0, total: f.files } });
        return null;
      }
      case 'remove_watch': {
        const path = args?.path as string;
        this.watched.delete(path);
        await this.pushWatch({ folders: [], removed: [path], resync: false });
        return null;
      }
      case 'save_watch_ignore': {
        const patterns = args?.patterns as string[];
        // As the real matcher: a character range running backwards ([z-a]) is refused.
        const bad = patterns.find((p) => {
          const m = /\[(.)-(.)\]/.exec(p);
          return m !== null && m[1] > m[2];
        });
        if (bad) {
          throw {
            message: `ignore pattern '${bad}' is not valid: error parsing glob '${bad}': invalid range`,
            hint: 'Fix or remove that line; patterns use gitignore syntax, like *.tmp or build/.',
          };
        }
        this.settings = { ...this.settings, watch_ignore: patterns };
        return patterns;
      }
      case 'answer_drop':
        await this.answerDrop(args?.choice as DropChoice);
        return null;
      case 'history': {
        const q = args?.query as HistoryQuery;
        const all = this.historyMatching(q.search);
        return { entries: all.slice(q.offset, q.offset + q.limit), total: all.length };
      }
      case 'export_history':
        return this.exportChooses ? this.historyMatching(args?.search as string).length : null;
      case 'clear_history': {
        const n = this.history.length;
        this.history = [];
        return n;
      }
      case 'app_info':
        return {
          version: '0.1.0',
          settings_file: '/home/me/.config/com.linagora.twake-uploader/settings.json',
          test_server_folder: '/home/me/.local/share/com.linagora.twake-uploader/test-server',
          engine_notices: [],
          system_language: this.systemLanguage,
        };
      default:
        throw { message: `unknown command ${cmd}`, hint: 'This is a bug in the test harness.' };
    }
  }
}
