import type { FolderState } from "./FolderState";
export type WatchedFolder = { path: string, target: string, state: FolderState, pending: number, files: number, uploaded: number, moved: number, last_sync: number | null, };
