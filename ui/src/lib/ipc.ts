// Typed calls to the shell's commands and the events it sends. The only module that talks to
// Tauri, so the rest of the UI is plain TypeScript (and mockIPC can stand in for the shell).

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AddReport } from '../generated/AddReport';
import type { AppInfo } from '../generated/AppInfo';
import type { AppSettings } from '../generated/AppSettings';
import type { ChunkView } from '../generated/ChunkView';
import type { Dialect } from '../generated/Dialect';
import type { EventBatch } from '../generated/EventBatch';
import type { HistoryPage } from '../generated/HistoryPage';
import type { HistoryQuery } from '../generated/HistoryQuery';
import type { QueueSnapshot } from '../generated/QueueSnapshot';
import type { TargetInfo } from '../generated/TargetInfo';
import type { TargetList } from '../generated/TargetList';
import type { TwakeAccountInfo } from '../generated/TwakeAccountInfo';
import type { TwakeServer } from '../generated/TwakeServer';
import type { TwakeFolders } from '../generated/TwakeFolders';
import type { DropChoice } from '../generated/DropChoice';
import type { DropOffer } from '../generated/DropOffer';
import type { WatchBatch } from '../generated/WatchBatch';
import type { WatchOverview } from '../generated/WatchOverview';

/** A folder's listing: its sub-folders, and how many files it holds ("3 files, no folders"). */
export type FolderListing = TwakeFolders;

export const api = {
  uiReady: () => invoke<void>('ui_ready'),
  snapshot: () => invoke<QueueSnapshot>('snapshot'),
  chunks: (id: number) => invoke<ChunkView[]>('chunks', { id }),
  pause: (id: number) => invoke<void>('pause', { id }),
  resume: (id: number) => invoke<void>('resume', { id }),
  cancel: (id: number) => invoke<void>('cancel', { id }),
  retry: (id: number) => invoke<void>('retry', { id }),
  pauseAll: () => invoke<void>('pause_all'),
  resumeAll: () => invoke<void>('resume_all'),
  retryAllFailed: () => invoke<void>('retry_all_failed'),
  clearFinished: () => invoke<number>('clear_finished'),
  pickFiles: () => invoke<AddReport>('pick_files'),
  pickFolders: () => invoke<AddReport>('pick_folders'),
  showInFolder: (id: number) => invoke<void>('show_in_folder', { id }),
  /** A public read link to a finished file of a target that makes them. */
  shareLink: (id: number) => invoke<string>('share_link', { id }),
  showTestServerFolder: () => invoke<void>('show_test_server_folder'),
  targets: () => invoke<TargetList>('targets'),
  setDefaultTarget: (id: string) => invoke<TargetList>('set_default_target', { id }),
  addResumableTarget: (url: string, dialect: Dialect) =>
    invoke<TargetInfo>('add_resumable_target', { url, dialect }),
  removeTarget: (id: string) => invoke<TargetList>('remove_target', { id }),
  settings: () => invoke<AppSettings>('settings'),
  saveSettings: (settings: AppSettings) => invoke<AppSettings>('save_settings', { settings }),
  saveProxyPassword: (url: string, user: string, password: string) =>
    invoke<void>('save_proxy_password', { url, user, password }),
  appInfo: () => invoke<AppInfo>('app_info'),
  moveToFront: (id: number) => invoke<void>('move_to_front', { id }),
  reorder: (id: number, before: number | null) => invoke<void>('reorder', { id, before }),
  twakeSignIn: (server: string, email: string, password: string) =>
    invoke<TwakeAccountInfo>('twake_sign_in', { server, email, password }),
  twakeDetect: (address: string) => invoke<TwakeServer>('twake_detect', { address }),
  twakeSignInBrowser: (server: string) => invoke<TwakeAccountInfo>('twake_sign_in_browser', { server }),
  twakeCancelSignIn: () => invoke<null>('twake_cancel_sign_in'),
  twakeChooseCompany: (account: string, companyId: string) =>
    invoke<TwakeAccountInfo>('twake_choose_company', { account, companyId }),
  twakeAccounts: () => invoke<TwakeAccountInfo[]>('twake_accounts'),
  twakeFolders: (account: string, path: string) => invoke<FolderListing>('twake_folders', { account, path }),
  twakeCreateFolder: (account: string, parent: string, name: string) =>
    invoke<FolderListing>('twake_create_folder', { account, parent, name }),
  twakeChooseFolder: (account: string, folder: string) =>
    invoke<TargetInfo>('twake_choose_folder', { account, folder }),
  twakeSignOut: (account: string) => invoke<TargetList>('twake_sign_out', { account }),
  watchedFolders: () => invoke<WatchOverview>('watched_folders'),
  watchPick: () => invoke<void>('watch_pick'),
  pauseWatch: (path: string, paused: boolean) => invoke<void>('pause_watch', { path, paused }),
  removeWatch: (path: string) => invoke<void>('remove_watch', { path }),
  saveWatchIgnore: (patterns: string[]) => invoke<string[]>('save_watch_ignore', { patterns }),
  answerDrop: (choice: DropChoice) => invoke<void>('answer_drop', { choice }),
  history: (query: HistoryQuery) => invoke<HistoryPage>('history', { query }),
  /** The save dialog, then the lines matching `search` as CSV; `null` when cancelled. */
  exportHistory: (search: string) => invoke<number | null>('export_history', { search }),
  clearHistory: () => invoke<number>('clear_history'),
};

/** The target menu's entry that opens the "add a server" dialog instead of choosing. */
export const ADD_TARGET = '__add__';
/** The target menu's entry that opens the Twake Drive sign-in. */
export const TWAKE_SIGN_IN = '__twake__';

export const BATCH_EVENT = 'queue-batch';
export const ADDED_EVENT = 'files-added';

export function onBatch(cb: (b: EventBatch) => void): Promise<UnlistenFn> {
  return listen<EventBatch>(BATCH_EVENT, (e) => cb(e.payload));
}

export const WATCH_EVENT = 'watch-batch';
export const DROP_EVENT = 'folders-dropped';

export function onWatchBatch(cb: (b: WatchBatch) => void): Promise<UnlistenFn> {
  return listen<WatchBatch>(WATCH_EVENT, (e) => cb(e.payload));
}

/** Dropped folders: the shell waits for `answerDrop` before doing anything with them. */
export function onFoldersDropped(cb: (o: DropOffer) => void): Promise<UnlistenFn> {
  return listen<DropOffer>(DROP_EVENT, (e) => cb(e.payload));
}

export function onFilesAdded(cb: (r: AddReport) => void): Promise<UnlistenFn> {
  return listen<AddReport>(ADDED_EVENT, (e) => cb(e.payload));
}

/** Native drag-and-drop over the window (Tauri's events; the shell queues the drop). */
export async function onDragHover(cb: (over: boolean) => void): Promise<UnlistenFn> {
  const offs = await Promise.all([
    listen('tauri://drag-enter', () => cb(true)),
    listen('tauri://drag-over', () => cb(true)),
    listen('tauri://drag-leave', () => cb(false)),
    listen('tauri://drag-drop', () => cb(false)),
  ]);
  return () => offs.forEach((off) => off());
}

export { asUserError } from './errors';
